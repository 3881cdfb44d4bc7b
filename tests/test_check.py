"""`resource-batch check` against the sandbox, and `--verbose`'s line per HTTP exchange."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest
import stamina

from batch import journal

# Long enough for check to show its last four characters.
WRONG_KEY = "wrong-secret-0123456789-9f3a"


def check(batch, *args: str, env: dict[str, str] | None = None):
    return batch.run("check", "--log-format", "text", *args, env=env, fast=False)


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_check_with_the_sandbox_credentials_is_exit_0(batch) -> None:
    """With working credentials every line says where things are and that all is well,
    and the key itself is never printed."""
    state = batch.folder / "state"
    result = check(batch, "--state-dir", str(state))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert f"base URL:      {batch.api.running.base_url} (from INFOBIP_BASE_URL)" in lines
    key = batch.api.running.api_key
    assert f"API key:       {len(key)} characters (from INFOBIP_API_KEY)" in lines
    assert "Infobip:       accepted the key: GET /resources/1/requests?size=1 answered in" in (
        result.output
    )
    assert f"state folder:  {state}: will be made (in {batch.folder}, writable)" in lines
    assert "lock:          free (no lock file: no run here yet)" in lines
    assert "journal:       no journal yet (a run makes" in result.output
    assert lines[-1] == "all is well: a run can start"
    assert key not in result.output
    assert not state.exists()  # nothing made


def test_check_counts_the_journal_and_sees_a_held_lock(batch) -> None:
    """After a run, the journal's rows are counted by state (the journal unchanged); while
    a run holds the state folder, check names its pid and does not wait."""
    from tests.test_run import toll_free

    state = batch.folder / "state"
    path = batch.csv([toll_free("1"), toll_free("2")])
    assert batch.run(str(path), "--state-dir", str(state)).exit_code == 0
    before = {p.name: p.read_bytes() for p in state.iterdir() if "sqlite3" in p.name}
    result = check(batch, "--state-dir", str(state))
    assert result.exit_code == 0, result.output
    assert "journal-" in result.output and ".sqlite3: SUBMITTED 2" in result.output
    assert "lock:          free" in result.output
    after = {p.name: p.read_bytes() for p in state.iterdir() if p.name in before}
    assert after == before
    assert all(p.stat().st_mode & 0o077 == 0 for p in state.iterdir() if "sqlite3" in p.name)
    with journal.state_lock(state):
        held = check(batch, "--state-dir", str(state))
    assert held.exit_code == 0, held.output
    assert f"lock:          held now by pid {os.getpid()}: a run is going" in held.output


def test_check_without_credentials_is_exit_2(batch, tmp_path) -> None:
    """Without base URL and key it says what to set (exit 2), and still checks the folders."""
    result = check(batch, "--state-dir", str(tmp_path / "state"), env={
        "INFOBIP_BASE_URL": "", "INFOBIP_API_KEY": ""
    })  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "configuration: no Infobip base URL and API key: set INFOBIP_BASE_URL" in result.output
    assert "state folder:" in result.output and "lock:" in result.output
    assert result.output.splitlines()[-1] == "1 problem(s): a run would stop (exit 2)"


def test_check_with_a_bad_config_file_is_exit_2(batch, tmp_path) -> None:
    """A config file that is not TOML is a configuration problem, named."""
    config = tmp_path / "config.toml"
    config.write_text("base_url = \n")
    result = check(batch, "--config", str(config))
    assert result.exit_code == 2, result.output
    assert f"config file {config}: not valid TOML" in result.output


def test_check_with_a_state_folder_that_cannot_be_made_is_exit_2(batch) -> None:
    """A state folder under a file cannot be made, even by root (CI): exit 2, saying so."""
    blocker = batch.folder / "not-a-folder"
    blocker.write_text("")
    state = blocker / "state"
    result = check(batch, "--state-dir", str(state))
    assert result.exit_code == 2, result.output
    assert f"state folder:  {state}: cannot be made: {blocker} is a file" in result.output
    assert batch.api.running.api_key not in result.output


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes in a folder whatever its mode")
def test_check_with_a_read_only_state_folder_is_exit_2(batch) -> None:
    """A state folder that exists but cannot be written is exit 2."""
    state = batch.folder / "state"
    state.mkdir(mode=0o500)
    try:
        result = check(batch, "--state-dir", str(state))
    finally:
        state.chmod(0o700)
    assert result.exit_code == 2, result.output
    assert f"state folder:  {state}: not writable" in result.output


def test_check_with_a_wrong_key_is_exit_3(batch, tmp_path) -> None:
    """A refused key is exit 3; of the key only its last four characters are shown."""
    result = check(batch, "--state-dir", str(tmp_path / "s"), env={"INFOBIP_API_KEY": WRONG_KEY})
    assert result.exit_code == 3, result.output
    assert f"API key:       …9f3a, {len(WRONG_KEY)} characters (from INFOBIP_API_KEY)" in (
        result.output
    )
    assert "Infobip:       Infobip refused the credentials" in result.output
    assert WRONG_KEY not in result.output and WRONG_KEY[:-4] not in result.output


def test_check_with_infobip_unreachable_is_exit_3(batch, tmp_path) -> None:
    """A base URL where nothing listens is exit 3 with the reason; the key is not shown."""
    url = f"http://127.0.0.1:{closed_port()}"
    env = {"INFOBIP_BASE_URL": url, "INFOBIP_API_KEY": WRONG_KEY}
    with stamina.set_testing(True):  # no backoff between the attempts
        result = check(batch, "--state-dir", str(tmp_path / "s"), env=env)
    assert result.exit_code == 3, result.output
    assert "Infobip:       Infobip did not answer GET /resources/1/requests: Connect" in (
        result.output
    )
    assert WRONG_KEY not in result.output


def test_check_with_a_key_flag_says_so_in_json(batch, tmp_path) -> None:
    """With --log-format json each finding is a JSON line with its fields; a key from
    --api-key is named as such, and appears only as its last four characters."""
    key = batch.api.running.api_key
    result = batch.run(
        "check", "--log-format", "json", "--api-key", key, "--state-dir", str(tmp_path / "s"),
        env={"INFOBIP_API_KEY": ""}, fast=False,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    found = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    by_check = {line.get("check"): line for line in found}
    assert by_check["API key"]["from"] == "--api-key"
    assert by_check["Infobip"]["verdict"] == "ok" and by_check["Infobip"]["ms"] >= 0
    assert by_check["journal"]["path"].startswith(str(tmp_path / "s"))
    assert key not in result.output


def test_run_verbose_logs_one_line_per_exchange(batch) -> None:
    """`run --verbose` logs each HTTP exchange as method, path, status, ms and attempt,
    as many as the sandbox saw; no line holds the key, and without --verbose none is
    logged."""
    from tests.test_run import DOC, hr_alpha, toll_free

    batch.document(DOC)
    path = batch.csv([toll_free("1"), hr_alpha()])
    result = batch.run(str(path), "--verbose", "--log-format", "json")
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    exchanges = [line for line in lines if "attempt" in line]
    assert len(exchanges) == sum(batch.api.calls().values()) > 0
    assert {(line["method"], line["status"]) for line in exchanges} >= {
        ("POST", 200),
        ("POST", 201),
        ("GET", 200),
    }
    assert all(line["ms"] >= 0 and line["attempt"] == 1 for line in exchanges)
    assert all(line["path"].startswith("/resources/1/") for line in exchanges)
    assert batch.api.running.api_key not in result.output
    quiet = batch.run(str(batch.csv([toll_free("3")], name="more.csv")), "--log-format", "json")
    assert quiet.exit_code == 0, quiet.output
    assert not any('"attempt"' in line for line in quiet.output.splitlines())


def test_verbose_text_names_the_attempt(batch, tmp_path: Path) -> None:
    """In text, an exchange's line reads METHOD PATH: HTTP STATUS in N ms (1st attempt)."""
    result = check(batch, "--verbose", "--state-dir", str(tmp_path / "s"))
    assert result.exit_code == 0, result.output
    line = next(line for line in result.output.splitlines() if line.startswith("GET "))
    assert line.startswith("GET /resources/1/requests?sort=requestedDate%2Cdesc&page=0&size=1:")
    assert line.endswith(" ms (1st attempt)") and ": HTTP 200 in " in line
