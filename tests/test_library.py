"""batch.validate, batch.run and batch.status from Python, on DataFrames and paths."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import batch
from batch.errors import ConfigError, InputError
from batch.outcome import RESULT_COLUMNS
from tests.test_run import DOC
from tests.test_run import hr_alpha as sheet_alpha
from tests.test_run import toll_free as sheet_toll_free


def hr_alpha(sender: str = "AcmeHR", **cells: Any) -> dict[str, Any]:
    """The CLI tests' row, with a reference and a number where a DataFrame has one."""
    row = {"reference": f"alpha-{sender}", **sheet_alpha(sender), "expectedMonthlyMessages": 50000}
    return {**row, **cells}


def toll_free(**cells: Any) -> dict[str, Any]:
    return {"reference": "numbers-1", **sheet_toll_free(), "quantity": 2, **cells}


@pytest.fixture
def api(make_api):
    return make_api(rate_limits=False)


@pytest.fixture
def options(api, tmp_path: Path) -> dict[str, Any]:
    """The sandbox's credentials, a state folder of the test's own, no waiting."""
    (tmp_path / "docs").mkdir()
    (tmp_path / DOC).write_bytes(b"%PDF-1.4 scan")
    return {
        "base_url": api.running.base_url,
        "api_key": api.running.api_key,
        "state_dir": tmp_path / "state",
        "documents_dir": tmp_path,
        "limits": {"submit": 1000, "upload": 1000, "lookup": 1000},
        "alpha_pending_cap": api.sandbox.config.alpha_pending_cap,
        "reconcile_grace": 0.2,
    }


def expected_columns(frame: pd.DataFrame) -> list[str]:
    """The results sheet's order: the result columns, `action`, then the input's own."""
    return [*RESULT_COLUMNS, "action", *frame.columns]


def test_validate_a_dataframe(api, options) -> None:
    """validate checks each row of a DataFrame (a missing value an empty cell) and sends
    nothing; the returned frame has the results sheet's columns, in its order."""
    frame = pd.DataFrame([hr_alpha(), hr_alpha("Other", vatNumber="HR1"), toll_free()])
    found = batch.validate(frame, **options)
    assert list(found.columns[: len(frame.columns) + 15]) == expected_columns(frame)
    assert list(found["result"]) == ["VALID", "INVALID", "VALID"]
    assert "vatNumber" in found["errors"][1]
    assert list(found["quantity"]) == ["", "", "2"]  # NaN is empty, 2.0 is 2
    assert list(found["reference"]) == list(frame["reference"])
    assert api.stored() == []


def test_run_a_dataframe_sends_each_row_once(api, options) -> None:
    """run submits a DataFrame's rows, returns their requestIds, and a second run of
    the same rows sends nothing again (the journal in state_dir remembers them)."""
    frame = pd.DataFrame([hr_alpha(), toll_free()])
    found = batch.run(frame, **options)
    assert list(found.columns[: len(frame.columns) + 15]) == expected_columns(frame)
    assert list(found["result"]) == ["SUBMITTED", "SUBMITTED"]
    stored = {request["id"] for request in api.stored()}
    assert set(found["requestId"]) == stored
    submits = api.calls()[("submit-resource-request", 201)]
    again = batch.run(frame, **options)
    assert list(again["requestId"]) == list(found["requestId"])
    assert "SUBMITTED" not in set(again["result"])
    assert {request["id"] for request in api.stored()} == stored
    assert api.calls()[("submit-resource-request", 201)] == submits


def test_run_a_path_writes_its_results_sheet(api, options, tmp_path: Path) -> None:
    """A path is run as the CLI runs it: its results sheet is written beside it, and
    the frame returned holds what that sheet holds."""
    path = tmp_path / "requests.csv"
    pd.DataFrame([toll_free()]).to_csv(path, index=False)
    found = batch.run(path, **{**options, "documents_dir": None})
    written = tmp_path / "requests.results.csv"
    assert written.exists()
    assert found.equals(batch.library.frame(written))
    assert list(found["result"]) == ["SUBMITTED"]
    (request,) = api.stored()
    assert found["requestId"][0] == request["id"]


def test_run_an_xlsx_with_out(api, options, tmp_path: Path) -> None:
    """A workbook's request sheet comes back without its Summary and Guide, and `out`
    says where the results sheet goes."""
    path = tmp_path / "requests.xlsx"
    pd.DataFrame([toll_free()]).to_excel(path, index=False, sheet_name="Requests")
    out = tmp_path / "elsewhere.xlsx"
    found = batch.validate(path, out=out, **options)
    assert out.exists() and not (tmp_path / "requests.results.xlsx").exists()
    assert list(found["result"]) == ["VALID"]
    assert "sheet" not in found.columns


def test_status_refreshes_results_sheets(api, options, tmp_path: Path) -> None:
    """status rewrites results sheets with where each request stands and returns them."""
    path = tmp_path / "requests.csv"
    pd.DataFrame([toll_free()]).to_csv(path, index=False)
    batch.run(path, **{**options, "documents_dir": None})
    keep = {k: options[k] for k in ("base_url", "api_key", "state_dir", "limits")}
    found = batch.status(tmp_path / "requests.results.csv", **keep)
    (request,) = api.stored()
    assert found["requestId"][0] == request["id"]
    assert found["requestStatus"][0] == request["status"]


def test_errors_are_exceptions(options, tmp_path: Path) -> None:
    """Missing credentials and an unreadable sheet raise BatchErrors, never exit."""
    frame = pd.DataFrame([toll_free()])
    with pytest.raises(ConfigError):
        batch.validate(frame, state_dir=tmp_path / "state")
    with pytest.raises(InputError, match="only .csv and .xlsx"):
        batch.validate(tmp_path / "requests.txt", **options)


def test_the_cli_does_not_load_pandas() -> None:
    """The command line pays nothing for the library's DataFrames."""
    code = "import sys, batch.cli; assert 'pandas' not in sys.modules, 'pandas loaded'"
    subprocess.run([sys.executable, "-c", code], check=True)
