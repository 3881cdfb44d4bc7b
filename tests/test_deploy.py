"""docs/deploy.md as written: its crontab line runs an inbox against a sandbox, and its
systemd units are ones systemd accepts."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Api

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
# The console script of the environment running the tests: what the doc's venv would hold.
SCRIPT = Path(sys.executable).parent / "resource-batch"


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DEPLOY, re.MULTILINE | re.DOTALL)


def _units() -> dict[str, str]:
    """Each ```ini block, by the file name its first line (`# /etc/systemd/...`) gives."""
    return {Path(block.splitlines()[0].lstrip("# ")).name: block for block in _blocks("ini")}


def test_crontab_line_runs_the_inbox(make_api, tmp_path: Path) -> None:
    """The crontab line, with its paths moved under tmp_path and its config file naming a
    sandbox, submits the inbox's export, files it in processed/, and exits 0."""
    (line,) = _blocks("crontab")
    schedule, command = line.split(maxsplit=5)[:5], line.split(maxsplit=5)[5].strip()
    assert schedule == ["*/15", "*", "*", "*", "*"]
    api: Api = make_api(rate_limits=False)
    app, inbox, state, log = (tmp_path / name for name in ("app", "inbox", "state", "log"))
    (app / ".venv" / "bin").mkdir(parents=True)
    (app / ".venv" / "bin" / "resource-batch").symlink_to(SCRIPT)
    inbox.mkdir()
    log.mkdir()
    (inbox / "export.csv").write_text(
        "type,countryCode,numberType,capabilities,quantity\n"
        "NUMBER_PURCHASE,US,TOLL_FREE_NUMBER,SMS,1\n"
    )
    config = tmp_path / "config.toml"
    config.write_text(f'base_url = "{api.running.base_url}"\napi_key = "{api.running.api_key}"\n')
    for doc_path, here in (
        ("/srv/resource-batch", app),
        ("/srv/crm-exports", inbox),
        ("/etc/resource-batch/config.toml", config),
        ("/var/lib/resource-batch", state),
        ("/var/log/resource-batch", log),
    ):
        assert doc_path in command
        command = command.replace(doc_path, str(here))
    done = subprocess.run(["/bin/sh", "-c", command], capture_output=True, timeout=60)
    output = (log / "run.log").read_text()
    assert done.returncode == 0, output
    assert done.stdout == done.stderr == b"", "everything goes to the log"
    assert '"result": "SUBMITTED"' in output
    assert [p.name for p in (inbox / "processed").iterdir()] == ["export.csv"]
    assert (inbox / "results" / "export.results.csv").exists()
    assert [r["quantity"] for r in api.stored()] == [1]
    assert any(state.iterdir()), "the journal is in --state-dir"


def test_unit_files_have_what_the_doc_says() -> None:
    """The service, timer and webhook units parse and carry the keys the doc relies on."""
    units = _units()
    assert sorted(units) == [
        "resource-batch-webhook.service",
        "resource-batch.service",
        "resource-batch.timer",
    ]
    parsed = {}
    for name, text in units.items():
        parser = configparser.ConfigParser(strict=True, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(text)
        parsed[name] = parser
    run, timer, hook = (
        parsed["resource-batch.service"],
        parsed["resource-batch.timer"],
        parsed["resource-batch-webhook.service"],
    )
    assert run["Service"]["Type"] == "oneshot"
    assert {"TimeoutStopSec", "TimeoutStartSec", "EnvironmentFile"} <= set(run["Service"])
    assert "run --inbox" in run["Service"]["ExecStart"]
    assert timer["Timer"]["OnCalendar"] and timer["Install"]["WantedBy"] == "timers.target"
    assert "--host 127.0.0.1" in hook["Service"]["ExecStart"]
    assert hook["Service"]["EnvironmentFile"] == run["Service"]["EnvironmentFile"]
    for service in (run, hook):
        assert service["Service"]["User"] == "resource-batch"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_unit_files_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """`systemd-analyze verify` finds nothing to say about the doc's units (their ExecStart
    pointed at this environment's console script, which it checks is executable)."""
    for name, text in _units().items():
        text = text.replace("/srv/resource-batch/.venv/bin/resource-batch", str(SCRIPT))
        (tmp_path / name).write_text(text)
    done = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert str(tmp_path) not in done.stderr + done.stdout, done.stderr
