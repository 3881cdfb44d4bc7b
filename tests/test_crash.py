"""Never twice, never lost: runs killed with SIGKILL at many moments, then run to the end,
and runs through a storm of faults. The CLI runs as a real process against a sandbox over
loopback HTTP; the sandbox's own store says what was submitted."""

from __future__ import annotations

import csv
import errno
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from batch.sandbox.app import Faults

RATES = ["--limit", "submit=25", "--limit", "upload=25", "--limit", "lookup=100"]
REQUIRED = {"SUBMITTED", "ALREADY_SUBMITTED"}


def write_rows(folder: Path, count: int, *, files: int = 5) -> Path:
    """HR number purchases told apart by company name, sharing a few documents, and a
    few alphanumeric senders: each row is one distinct request."""
    (folder / "documents").mkdir(exist_ok=True)
    for i in range(files):
        (folder / "documents" / f"reg-{i}.pdf").write_bytes(f"%PDF-1.4 registration {i}".encode())
    path = folder / "requests.csv"
    headers = [
        "type", "countryCode", "numberType", "capabilities", "quantity", "senderName",
        "companyName", "vatNumber", "useCase", "expectedMonthlyMessages",
        "companyEmailAddresses", "companyWebsite", "contactPhoneNumber",
        "companyRegistrationDocument", "registrationConsent",
    ]  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(headers)
        for i in range(count):
            document = f"documents/reg-{i % files}.pdf"
            if i % 10 == 9:  # an alphanumeric sender now and then
                writer.writerow([
                    "ALPHANUMERIC_REGISTRATION", "HR", "", "", "", f"Shop{i:04d}",
                    f"Shop {i} d.o.o.", f"HR{10000000000 + i}", "Notifications", "50000",
                    "contact@shop.hr", "https://shop.hr", "+385911234567", document, "yes",
                ])  # fmt: skip
            else:
                writer.writerow([
                    "NUMBER_PURCHASE", "HR", "VIRTUAL_LONG_NUMBER", "SMS", "1", "",
                    f"Company {i:04d} d.o.o.", "", "Notifications", "", "", "https://c.hr",
                    "", document, "yes",
                ])  # fmt: skip
    return path


def identity(request: dict) -> str:
    if request["type"] == "ALPHANUMERIC_REGISTRATION":
        return request["senderName"]
    (name,) = [r["value"] for r in request["requirements"] if r["key"] == "companyName"]
    return name


def start(api, path: Path, state: Path, rates: list[str] = RATES) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "INFOBIP_BASE_URL": api.running.base_url,
        "INFOBIP_API_KEY": api.running.api_key,
        "RESOURCE_BATCH_STATE_DIR": str(state),
    }
    command = [sys.executable, "-m", "batch", "run", str(path), *rates, "--quiet"]
    command += ["--alpha-pending-cap", str(api.sandbox.config.alpha_pending_cap)]
    command += ["--reconcile-grace", "0.3", "--config", str(state.parent / "config.toml")]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def submits(api) -> int:
    return sum(n for (op, _), n in api.calls().items() if op == "submit-resource-request")


def run_to_the_end(api, path: Path, state: Path, rates: list[str] = RATES) -> list[dict[str, str]]:
    """Run again until every row is done. A row sent twice without an answer and not
    found stays UNCERTAIN until asked: from the third run on, --resubmit-uncertain."""
    for attempt in range(6):
        forced = ["--resubmit-uncertain"] if attempt >= 2 else []
        process = start(api, path, state, rates + forced)
        _, err = process.communicate(timeout=120)
        if process.returncode == 0:
            break
    assert process.returncode == 0, err.decode()[-3000:]
    with path.with_name("requests.results.csv").open(newline="", encoding="utf-8-sig") as file:
        return list(csv.DictReader(file))


def assert_exactly_once(api, rows: list[dict[str, str]], count: int) -> None:
    stored = api.stored()
    per_row = Counter(identity(r) for r in stored)
    twice = {name: n for name, n in per_row.items() if n > 1}
    assert not twice, f"submitted more than once: {twice}"
    assert len(per_row) == count, f"{count - len(per_row)} rows never submitted"
    assert len(rows) == count and {r["result"] for r in rows} <= REQUIRED, Counter(
        r["result"] for r in rows
    )
    assert {r["requestId"] for r in rows} == {r["id"] for r in stored}


def test_killed_at_twenty_moments_then_finished_submits_each_row_once(make_api, tmp_path) -> None:
    """A run SIGKILLed at 22 different moments (starting up, checking, uploading, while a
    submit is stored but its answer not yet read, settling a lost one), then run to the
    end: every valid row has exactly one request at Infobip, none is missing, and the
    results sheet accounts for every row."""
    api = make_api(
        rate_limits=False, check=False, alpha_pending_cap=0, faults=Faults(accept_timeout_rate=0.15)
    )
    (tmp_path / "config.toml").write_text("read_timeout = 0.5\n")
    state = tmp_path / "state"
    path = write_rows(tmp_path, 60)
    moments = random.Random(4)
    for kill in range(22):
        before = submits(api)
        process = start(api, path, state)
        if kill % 3 == 0:  # anywhere: start-up, reading, settling, uploading, sending
            time.sleep(moments.uniform(0.3, 2.0))
        else:  # right after the sandbox took the n-th next submit
            wanted = before + kill % 4 + 1
            deadline = time.monotonic() + 30
            while submits(api) < wanted and process.poll() is None:
                assert time.monotonic() < deadline, "the run made no progress"
                time.sleep(0.005)
        process.kill()  # SIGKILL; TerminateProcess on Windows
        process.communicate(timeout=30)
    assert submits(api) > 20, "the kills should have landed among the submits"
    assert_exactly_once(api, run_to_the_end(api, path, state), 60)


def test_fault_storm_submits_each_row_once(make_api, tmp_path) -> None:
    """5% 500s, 2% dropped connections, 2% submits stored but never answered and extra
    429s on every call, over 300 rows: zero duplicates, every row accounted for."""
    faults = Faults(fail_rate=0.05, drop_rate=0.02, accept_timeout_rate=0.02, throttle_rate=0.1)
    api = make_api(rate_limits=False, check=False, alpha_pending_cap=0, faults=faults)
    (tmp_path / "config.toml").write_text("read_timeout = 0.5\n")
    state = tmp_path / "state"
    path = write_rows(tmp_path, 300, files=20)
    rates = [f"--limit={endpoint}=200" for endpoint in ("submit", "upload", "read", "lookup")]
    rows = run_to_the_end(api, path, state, rates)
    assert_exactly_once(api, rows, 300)
    calls = api.calls()
    assert calls.get(("submit-resource-request", 500), 0) > 0
    assert calls.get(("submit-resource-request", 0), 0) > 0, "some submits got no answer"


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no SIGTERM to send")
def test_sigterm_stops_a_run_as_ctrl_c_does(make_api, tmp_path) -> None:
    """SIGTERM (systemd, `timeout`, `docker stop`) mid-run, twice: the results are
    written, the stop is logged, exit 143; the next run sends the rest, nothing twice."""
    api = make_api(rate_limits=False, check=False, alpha_pending_cap=0)
    (tmp_path / "config.toml").write_text("")
    state = tmp_path / "state"
    path = write_rows(tmp_path, 40)
    env = {
        **os.environ,
        "INFOBIP_BASE_URL": api.running.base_url,
        "INFOBIP_API_KEY": api.running.api_key,
        "RESOURCE_BATCH_STATE_DIR": str(state),
    }
    command = [sys.executable, "-m", "batch", "run", str(path), "--log-format", "json"]
    command += ["--limit", "submit=5", "--limit", "upload=25", "--limit", "lookup=100"]
    command += ["--alpha-pending-cap", "0", "--config", str(tmp_path / "config.toml")]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while submits(api) < 3:
        assert process.poll() is None and time.monotonic() < deadline, "no submits were made"
        time.sleep(0.01)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.05)
    process.send_signal(signal.SIGTERM)  # systemd's second ask must not cut the results short
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, err.decode()[-2000:]
    stopped = [json.loads(line) for line in err.decode().splitlines() if "SIGTERM" in line]
    assert stopped and stopped[0]["level"] == "warning", err.decode()[-2000:]
    assert "requests.results.csv" in stopped[0]["message"]
    assert api.running.api_key not in (out + err).decode()
    assert "Traceback" not in err.decode()
    with path.with_name("requests.results.csv").open(newline="", encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file))
    results = Counter(row["result"] for row in rows)
    assert len(rows) == 40 and results["FAILED"] > 0, results
    assert results["SUBMITTED"] + results["UNCERTAIN"] == len(api.stored()), results
    assert all("not sent" in r["errors"] for r in rows if r["result"] == "FAILED")
    assert_exactly_once(api, run_to_the_end(api, path, state), 40)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 4 MB tmpfs: a real disk that really fills (mounting needs root, as in CI)."""
    if sys.platform != "linux":
        pytest.skip("tmpfs is Linux's")
    folder = tmp_path / "small-disk"
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=True)


def fill(folder: Path) -> Path:
    """Fill the disk holding `folder` to its last byte."""
    filler = folder / "filler"
    with filler.open("wb") as file:
        try:
            while True:
                file.write(b"\0" * 65536)
                file.flush()
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_a_disk_that_fills_mid_run_stops_it_saying_so_and_nothing_is_lost(
    make_api, tmp_path, small_disk
) -> None:
    """The state folder's disk fills while rows are being sent: the run stops with exit 2
    saying the disk is out of space (not 'Infobip unreachable'); the results sheet claims
    no more than is known (a request Infobip stored is never 'FAILED, not sent'); with
    room again, the next run sends the rest, each row once."""
    api = make_api(rate_limits=False, check=False, alpha_pending_cap=0)
    (tmp_path / "config.toml").write_text("")
    path = write_rows(tmp_path, 40)
    process = start(api, path, small_disk, ["--limit", "submit=10", "--limit", "upload=25"])
    deadline = time.monotonic() + 60
    while submits(api) < 3:
        assert process.poll() is None and time.monotonic() < deadline, "no submits were made"
        time.sleep(0.01)
    filler = fill(small_disk)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 2, err.decode()[-3000:]
    assert "out of space: cannot write journal" in err.decode()
    assert "Traceback" not in err.decode()
    assert "the disk holding" in err.decode() and "is full" in err.decode()
    with path.with_name("requests.results.csv").open(newline="", encoding="utf-8-sig") as file:
        rows = list(csv.DictReader(file))
    stored = {r["id"] for r in api.stored()}
    assert len(rows) == 40
    for row in rows:  # each row says what is true at Infobip
        if row["requestId"]:
            assert row["requestId"] in stored and row["result"] == "SUBMITTED", row
        else:
            assert row["result"] in ("FAILED", "UNCERTAIN"), row
    failed = [r for r in rows if r["result"] == "FAILED"]
    assert failed and all("not sent" in r["errors"] for r in failed)
    assert len([r for r in rows if r["requestId"]]) <= len(stored)
    filler.unlink()
    assert_exactly_once(api, run_to_the_end(api, path, small_disk), 40)


def test_no_room_for_the_results_sheet_says_so_and_the_rerun_sends_nothing_twice(
    batch, small_disk
) -> None:
    """The results sheet's disk is full after the rows were sent: exit 2 saying out of
    space (no half-written file); once there is room, the same run again writes the
    results and sends nothing a second time."""
    from tests.test_run import toll_free

    path = batch.csv([toll_free(str(n)) for n in range(1, 6)])
    out = small_disk / "requests.results.csv"
    filler = fill(small_disk)
    result = batch.run(str(path), "--out", str(out))
    assert result.exit_code == 2, result.output
    assert f"Error: out of space: cannot write the results file {out}" in result.stderr
    assert "nothing is sent twice" in result.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"]
    assert len(batch.api.stored()) == 5
    filler.unlink()
    again = batch.run(str(path), "--out", str(out))
    assert again.exit_code == 0, again.output
    assert {r["result"] for r in batch.results(out)} == {"ALREADY_SUBMITTED"}
    assert len(batch.api.stored()) == 5
