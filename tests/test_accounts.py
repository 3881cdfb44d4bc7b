"""Several Infobip accounts: `[accounts.NAME]` in the config file, `--account`, and an
`account` column routing each row. Each account is a sandbox of its own (Infobip keeps
accounts apart: their requests, their limits), each with its own key."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from batch import journal
from batch.cli import main as cli_main
from batch.config import Settings
from tests.test_run import DOC, hr_alpha

NORTH_KEY = "north-secret-key-0123456789"
SOUTH_KEY = "south-secret-key-9876543210"


class Accounts:
    """Two sandboxes, north and south, and a config file naming both."""

    def __init__(self, make_api: Any, folder: Path, *, limits: bool = False) -> None:
        self.folder = folder
        # With limits, each sandbox holds its account to its own submit rate: 4 and 2 a
        # second (`speed` multiplies Infobip's published 1 a second).
        self.north = make_api(api_key=NORTH_KEY, rate_limits=limits, speed=4, alpha_pending_cap=0)
        self.south = make_api(api_key=SOUTH_KEY, rate_limits=limits, speed=2, alpha_pending_cap=0)
        self.config = folder / "config.toml"
        self.state = folder / "state"
        rates = (4, 2) if limits else (1000, 1000)
        self.config.write_text(
            "\n".join(
                f'[accounts.{name}]\nbase_url = "{api.running.base_url}"\n'
                f'api_key = "{api.running.api_key}"\n'
                f"limits = {{ submit = {rate}, upload = {rate}, lookup = 40 }}\n"
                for name, api, rate in (
                    ("north", self.north, rates[0]),
                    ("south", self.south, rates[1]),
                )
            ),
            encoding="utf-8",
        )

    def run(self, *args: str, env: dict[str, str] | None = None) -> Any:
        command = [*args, "--config", str(self.config), "--state-dir", str(self.state)]
        if args[0] in ("run", "validate"):
            command += ["--alpha-pending-cap", "0", "--log-format", "json"]
        if args[0] == "run":
            command += ["--reconcile-grace", "0.2"]
        return CliRunner().invoke(cli_main, command, env=env or {}, catch_exceptions=False)

    def csv(self, rows: list[dict[str, str]], name: str = "senders.csv") -> Path:
        path = self.folder / name
        document = path.parent / DOC  # DOCUMENT paths are relative to the sheet
        document.parent.mkdir(parents=True, exist_ok=True)
        document.write_bytes(b"%PDF-1.4 registration")
        headers = list(dict.fromkeys(key for row in rows for key in row))
        with path.open("w", newline="", encoding="utf-8") as file:
            writer = csv.DictWriter(file, headers)
            writer.writeheader()
            writer.writerows(rows)
        return path

    def results(self, path: Path) -> list[dict[str, str]]:
        with path.open(newline="", encoding="utf-8-sig") as file:
            return list(csv.DictReader(file))

    def journal_counts(self, api: Any) -> Counter[str]:
        fingerprint = Settings(api.running.base_url, api.running.api_key).account
        return Counter({str(k): n for k, n in journal.counts(self.state, fingerprint).items()})


def sender(name: str, account: str | None = None) -> dict[str, str]:
    row = hr_alpha(name)
    if account is not None:
        row["account"] = account
    return row


@pytest.fixture
def accounts(make_api: Any, tmp_path: Path) -> Accounts:
    return Accounts(make_api, tmp_path)


def test_two_accounts_in_one_run_each_at_its_own_limit_with_its_own_journal(
    make_api: Any, tmp_path: Path
) -> None:
    """Rows go to the account their account cell names, each sent at its own rate (as
    each sandbox's call log shows), both side by side; each sandbox stores its own rows
    once, and each account has its own journal."""
    two = Accounts(make_api, tmp_path, limits=True)
    rows = [sender(f"North{i}", account="north") for i in range(10)]
    rows += [sender(f"South{i}", account="SOUTH ") for i in range(6)]  # case and blanks aside
    source = two.csv(rows)

    result = two.run("run", str(source))

    assert result.exit_code == 0, result.output
    found = two.results(tmp_path / "senders.results.csv")
    assert [r["result"] for r in found] == ["SUBMITTED"] * 16
    for api, prefix, count, limit in ((two.north, "North", 10, 4), (two.south, "South", 6, 2)):
        stored = sorted(r["senderName"] for r in api.stored())
        assert stored == sorted(f"{prefix}{i}" for i in range(count))
        log = api.client.get("/_sandbox/calls").json()["log"]
        submits = [call for call in log if call["operation"] == "submit-resource-request"]
        assert [call["status"] for call in submits].count(201) == count
        # Held to its own limit: no more than it allows in any second (one more where a
        # late wake-up met an on-time call at a window's edge, which Infobip answers 429
        # and the client sends again), whatever the other account does meanwhile.
        times = sorted(call["at"] for call in submits)
        busiest = max(sum(t <= start + 1 for t in times[i:]) for i, start in enumerate(times))
        assert busiest <= limit + 1, f"{busiest} submits in one second"
        assert len(submits) - count <= 1, "more than one submit refused (429)"
        assert two.journal_counts(api) == {"SUBMITTED": count}
    north = _submit_times(two.north)
    south = _submit_times(two.south)
    assert north[0] < south[-1] and south[0] < north[-1], (
        "the accounts were sent one after the other"
    )
    ids = {r["requestId"]: r["account"] for r in found}
    assert {r["id"] for r in two.north.stored()} == {i for i, a in ids.items() if a == "north"}


def _submit_times(api: Any) -> list[float]:
    log = api.client.get("/_sandbox/calls").json()["log"]
    return sorted(c["at"] for c in log if c["operation"] == "submit-resource-request")


def test_the_same_sender_in_two_accounts_is_two_requests_and_a_rerun_sends_neither_again(
    accounts: Accounts,
) -> None:
    """A sender registered in each of two accounts is not a duplicate; run again, each
    account's journal knows its own row."""
    source = accounts.csv([sender("Shared", account="north"), sender("Shared", account="south")])

    first = accounts.run("run", str(source))
    again = accounts.run("run", str(source))

    assert first.exit_code == 0, first.output
    assert again.exit_code == 0, again.output
    found = accounts.results(accounts.folder / "senders.results.csv")
    assert [r["result"] for r in found] == ["ALREADY_SUBMITTED"] * 2
    assert len(accounts.north.stored()) == 1
    assert len(accounts.south.stored()) == 1


def test_a_row_naming_no_known_account_is_invalid_in_its_account_cell(
    accounts: Accounts,
) -> None:
    """An unknown account name, and an empty cell where there is no default account, are
    the row's errors, on its account cell; the other rows are sent."""
    source = accounts.csv(
        [
            sender("Northy", account="north"),
            sender("Westy", account="west"),
            sender("Nobody", account=""),
        ]
    )

    result = accounts.run("run", str(source))

    assert result.exit_code == 1, result.output
    found = accounts.results(accounts.folder / "senders.results.csv")
    assert [r["result"] for r in found] == ["SUBMITTED", "INVALID", "INVALID"]
    assert found[1]["errors"] == (
        "account: 'west' is not an account of the config file ([accounts.NAME]): the config"
        " file has north, south"
    )
    assert found[2]["errors"] == (
        "account: empty, and there is no default account: give one of north, south, or run"
        " with --account NAME"
    )
    assert len(accounts.north.stored()) == 1
    assert accounts.south.stored() == []


def test_no_default_account_and_no_account_column_stops_before_anything_is_sent(
    accounts: Accounts,
) -> None:
    source = accounts.csv([sender("Northy")])

    result = accounts.run("run", str(source))

    assert result.exit_code == 2, result.output
    assert "no Infobip base URL and API key" in result.output
    assert "name one of the config file's accounts (north, south) with --account" in (result.output)
    assert not (accounts.folder / "senders.results.csv").exists()


def test_account_flag_routes_the_rows_and_the_results_sheet_remembers_it_for_status(
    accounts: Accounts,
) -> None:
    """--account sends the rows that name none to that account; the results sheet gains
    an account column saying so, so that `status` (without --account) asks that account."""
    source = accounts.csv([sender("Southy"), sender("Northy", account="north")])

    result = accounts.run("run", str(source), "--account", "south")

    assert result.exit_code == 0, result.output
    output = accounts.folder / "senders.results.csv"
    found = accounts.results(output)
    assert [(r["senderName"], r["account"]) for r in found] == [
        ("Southy", "south"),
        ("Northy", "north"),
    ]
    assert [r["senderName"] for r in accounts.south.stored()] == ["Southy"]
    assert [r["senderName"] for r in accounts.north.stored()] == ["Northy"]

    status = accounts.run("status", str(output))

    assert status.exit_code == 0, status.output
    refreshed = accounts.results(output)
    assert [r["requestStatus"] for r in refreshed] == ["PENDING", "PENDING"]
    assert [r["account"] for r in refreshed] == ["south", "north"]


def test_a_request_sheet_without_an_account_column_gains_none_on_the_default_account(
    accounts: Accounts,
) -> None:
    """The default credentials (the environment) with no account named: the results
    sheet is as it always was."""
    source = accounts.csv([sender("Plain")])
    env = {
        "INFOBIP_BASE_URL": accounts.north.running.base_url,
        "INFOBIP_API_KEY": NORTH_KEY,
    }

    result = accounts.run("run", str(source), env=env)

    assert result.exit_code == 0, result.output
    found = accounts.results(accounts.folder / "senders.results.csv")
    assert "account" not in found[0]
    assert found[0]["result"] == "SUBMITTED"


def test_status_of_the_journals_covers_every_account(accounts: Accounts) -> None:
    """`status` with no file lists the unfinished requests of each account's journal;
    with --account, that account's only."""
    source = accounts.csv([sender("Northy", account="north"), sender("Southy", account="south")])
    assert accounts.run("run", str(source)).exit_code == 0
    listing = accounts.folder / "open.xlsx"

    both = accounts.run("status", "--out", str(listing), "--log-format", "json")
    north = accounts.run(
        "status", "--account", "north", "--out", str(accounts.folder / "north.xlsx")
    )

    assert both.exit_code == 0, both.output
    assert north.exit_code == 0, north.output
    from batch.sheets import read_sheets

    def references(path: Path) -> list[str]:
        sheet = read_sheets(path)[0]
        at = list(sheet.headers).index("requestId")
        return sorted(row.cells[at] for row in sheet.rows if not row.blank)

    ids = {
        r["senderName"]: r["id"] for api in (accounts.north, accounts.south) for r in api.stored()
    }
    assert references(listing) == sorted(ids.values())
    assert references(accounts.folder / "north.xlsx") == [ids["Northy"]]


def test_check_names_each_account_and_never_its_key(accounts: Accounts) -> None:
    result = accounts.run("check", "--log-format", "text")

    assert result.exit_code == 0, result.output
    assert NORTH_KEY not in result.output and SOUTH_KEY not in result.output
    lines = result.output.splitlines()
    said = {line.split(":", 1)[0]: line.split(":", 1)[1].strip() for line in lines if ":" in line}
    assert said["Infobip (north)"].startswith("accepted the key")
    assert said["Infobip (south)"].startswith("accepted the key")
    source = f"config file {accounts.config} [accounts.north]"
    assert (
        said["API key (north)"] == f"…{NORTH_KEY[-4:]}, {len(NORTH_KEY)} characters (from {source})"
    )
    assert said["default account"].startswith("none: every row must name its account")


def test_check_says_which_account_refuses_its_key(accounts: Accounts) -> None:
    text = accounts.config.read_text(encoding="utf-8").replace(SOUTH_KEY, "revoked-key-000000001")
    accounts.config.write_text(text, encoding="utf-8")

    result = accounts.run("check", "--log-format", "text")

    assert result.exit_code == 3, result.output
    said = {
        line.split(":", 1)[0]: line.split(":", 1)[1].strip()
        for line in result.output.splitlines()
        if ":" in line
    }
    assert said["Infobip (north)"].startswith("accepted the key")
    assert "401" in said["Infobip (south)"]
    assert "revoked-key-000000001" not in result.output


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('[accounts.east]\nbase_url = "https://e.api.infobip.com"\n', "api_key must be set"),
        ("accounts = 3\n", "accounts must be tables"),
        (
            '[accounts.east]\nbase_url = "https://e.api.infobip.com"\napi_key = "k"\nkey = 1\n',
            "key: an account has base_url, api_key, limits",
        ),
        (
            '[accounts.east]\nbase_url = "https://e.api.infobip.com"\napi_key = "k"\n'
            "limits = { submit = 0 }\n",
            "[accounts.east]: --limit 'submit=0': the rate must be",
        ),
        (
            '[accounts." "]\nbase_url = "https://e.api.infobip.com"\napi_key = "k"\n',
            "an account needs a name",
        ),
    ],
)
def test_a_bad_account_table_is_a_configuration_error(
    accounts: Accounts, table: str, message: str
) -> None:
    accounts.config.write_text(table, encoding="utf-8")
    source = accounts.csv([sender("Eastern", account="east")])

    result = accounts.run("validate", str(source))

    assert result.exit_code == 2, result.output
    assert message in result.output


@pytest.mark.parametrize(
    ("name", "message"),
    [("east", "'east' is not an account of the config file"), (" ", "the account is empty")],
)
def test_an_unknown_or_empty_account_flag_is_a_configuration_error(
    accounts: Accounts, name: str, message: str
) -> None:
    source = accounts.csv([sender("Eastern")])

    result = accounts.run("validate", str(source), "--account", name)

    assert result.exit_code == 2, result.output
    assert message in result.output


def test_a_fed_back_row_keeps_its_empty_account_cell_whatever_account_is_asked(
    accounts: Accounts,
) -> None:
    """Rows sent with the default credentials keep an empty account cell; `status`
    with another --account does not label them as that account's."""
    source = accounts.csv([sender("Plain")])
    env = {"INFOBIP_BASE_URL": accounts.north.running.base_url, "INFOBIP_API_KEY": NORTH_KEY}
    assert accounts.run("run", str(source), env=env).exit_code == 0
    output = accounts.folder / "senders.results.csv"

    accounts.run("status", str(output), "--account", "south")
    again = accounts.run("status", str(output), env=env)

    assert again.exit_code == 0, again.output
    (row,) = accounts.results(output)
    assert row["account"] == ""
    assert row["requestStatus"] == "PENDING"


def test_one_account_under_two_names_is_one_account(accounts: Accounts) -> None:
    """The environment's credentials are north's: a row for each is one sender, sent
    once; the second is DUPLICATE, and nothing stops."""
    source = accounts.csv([sender("Twice", account=""), sender("Twice", account="north")])
    env = {"INFOBIP_BASE_URL": accounts.north.running.base_url, "INFOBIP_API_KEY": NORTH_KEY}

    result = accounts.run("run", str(source), env=env)

    assert result.exit_code == 0, result.output
    found = accounts.results(accounts.folder / "senders.results.csv")
    assert [r["result"] for r in found] == ["SUBMITTED", "DUPLICATE"]
    assert len(accounts.north.stored()) == 1


def test_the_same_reference_in_two_accounts_is_an_error(accounts: Accounts) -> None:
    rows = [
        {**sender("Refd", account="north"), "reference": "SAME"},
        {**sender("Refd", account="south"), "reference": "SAME"},
    ]
    source = accounts.csv(rows)

    result = accounts.run("validate", str(source))

    found = accounts.results(accounts.folder / "senders.results.csv")
    assert [r["result"] for r in found] == ["VALID", "INVALID"], result.output
    assert found[1]["errors"] == "reference: 'SAME' is also the reference of row 2"


def test_an_inbox_file_naming_no_account_is_filed_away_and_the_others_run(
    accounts: Accounts,
) -> None:
    inbox = accounts.folder / "inbox"
    inbox.mkdir()
    first = accounts.csv([sender("Nowhere")], name="inbox/0-no-account.csv")
    accounts.csv([sender("Southern", account="south")], name="inbox/1-south.csv")

    result = accounts.run("run", "--inbox", str(inbox))

    assert result.exit_code == 2, result.output
    assert (inbox / "rejected" / first.name).exists()
    assert (inbox / "processed" / "1-south.csv").exists()
    reason = (inbox / "results" / "0-no-account.csv.error.txt").read_text(encoding="utf-8")
    assert "no Infobip base URL and API key" in reason
    assert [r["senderName"] for r in accounts.south.stored()] == ["Southern"]


def test_status_refreshes_the_other_accounts_when_one_refuses_its_key(
    accounts: Accounts,
) -> None:
    source = accounts.csv([sender("Northy", account="north"), sender("Southy", account="south")])
    assert accounts.run("run", str(source)).exit_code == 0
    output = accounts.folder / "senders.results.csv"
    with output.open(encoding="utf-8-sig") as file:
        before = file.read()
    text = accounts.config.read_text(encoding="utf-8").replace(SOUTH_KEY, "revoked-key-000000001")
    accounts.config.write_text(text, encoding="utf-8")
    accounts.north.advance(3600)  # north's request moves on

    result = accounts.run("status", str(output), "--log-format", "text")

    assert result.exit_code == 3, result.output
    assert "Error: account south: " in result.output
    found = accounts.results(output)
    assert found[0]["requestStatus"] != "PENDING", "north's row was refreshed"
    assert found[1]["requestStatus"] == "PENDING", "south's row kept what it showed"
    assert before != output.read_text(encoding="utf-8-sig")


def test_on_the_sandbox_a_row_naming_an_account_says_why_it_is_not_sent(
    accounts: Accounts,
) -> None:
    source = accounts.csv([sender("Demo", account="north")])

    result = accounts.run("validate", str(source), "--sandbox")

    (row,) = accounts.results(accounts.folder / "senders.results.csv")
    assert row["result"] == "INVALID", result.output
    assert "on the sandbox the config file's accounts are left aside" in row["errors"]
