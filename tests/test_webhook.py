"""`resource-batch webhook`: Infobip's status and reminder callbacks received over real
loopback HTTP and written to the account's journal; the sandbox is the peer end to end."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from batch.cli import main as cli_main
from batch.config import Settings
from batch.journal import Entry, Journal
from batch.serving import listen
from batch.webhook import ReceiverConfig, RunningReceiver
from tests.conftest import Batch
from tests.test_run import DOC, hr_alpha, toll_free

ROOT = Path(__file__).resolve().parent.parent
ACCOUNT = "00112233445566ff"
AUTH = ("infobip", "s3cret")
KNOWN = ("req-1", "req-2", "req-3")
DAY = 86400
STATUS = "RESOURCE_REQUEST_STATUS_UPDATE"
REMINDER = "RESOURCE_REQUEST_REMINDER"
EARLY = "2025-03-11T09:22:47.000+0000"
LATE = "2025-03-12T10:00:00Z"


def status(request_id: str, value: str, at: str | None = EARLY, **content: Any) -> dict:
    result: dict[str, Any] = {
        "event": STATUS,
        "content": {"id": request_id, "status": value, "type": "NUMBER_PURCHASE", **content},
    }
    if at is not None:
        result["receivedAt"] = at
    return result


def reminder(request_id: str, days: Any, value: str = "UPDATE_REQUESTED") -> dict:
    content = {"id": request_id, "status": value, "type": "ALPHANUMERIC_REGISTRATION"}
    return {"event": REMINDER, "content": {**content, "daysUntilRejection": days}}


def submitted(state: Path, account: str, request_ids: tuple[str, ...]) -> None:
    """A journal in which each requestId belongs to a submitted row."""
    with Journal.open(state, account) as journal:
        journal.validated(
            [(f"row-{rid}", "c", "NUMBER_PURCHASE", "US", "in.csv") for rid in request_ids]
        )
        for rid in request_ids:
            journal.submitting(f"row-{rid}", {"type": "NUMBER_PURCHASE"})
            journal.submitted(f"row-{rid}", rid)


def entries(state: Path, account: str = ACCOUNT, ids: tuple[str, ...] = KNOWN) -> dict[str, Entry]:
    with Journal.open(state, account) as journal:
        return journal.by_request_id(ids)


def kept(state: Path, account: str = ACCOUNT) -> list[tuple[str, str, dict]]:
    """The events table, read-only: (requestId, event, body) in arrival order."""
    path = state / f"journal-{account}.sqlite3"
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT request_id, event, body FROM events ORDER BY id").fetchall()
    return [(rid, kind, json.loads(body)) for rid, kind, body in rows]


def wait_until(check: Callable[[], bool], what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"never happened: {what}")
        threading.Event().wait(0.05)


@pytest.fixture
def state(tmp_path: Path) -> Path:
    folder = tmp_path / "state"
    submitted(folder, ACCOUNT, KNOWN)
    return folder


@pytest.fixture
def hook(state: Path) -> Iterator[RunningReceiver]:
    config = ReceiverConfig(state_dir=state, account=ACCOUNT, username=AUTH[0], password=AUTH[1])
    with RunningReceiver(config) as running:
        yield running


def post(hook: RunningReceiver, body: Any, auth: Any = AUTH, **kwargs: Any) -> httpx.Response:
    if "content" not in kwargs:
        kwargs["json"] = body
    return httpx.post(hook.url, auth=auth, timeout=10, **kwargs)


# -- end to end, with the sandbox as Infobip ----------------------------------------------


def test_sandbox_webhooks_reach_the_journal(make_api, tmp_path: Path) -> None:
    """A batch run, then the sandbox's lifecycle: every status it notifies lands in the
    journal run wrote, with feedback and numbers; reminders record 27, 15 and 3 days
    without touching the status, and the rejection after them is recorded."""
    state = tmp_path / "state"
    sock = listen("127.0.0.1", 0)
    port = sock.getsockname()[1]
    api = make_api(
        rate_limits=False,
        alpha_pending_cap=0,
        webhook_url=f"http://infobip:s3cret@127.0.0.1:{port}/webhooks/infobip",
    )
    batch = Batch(api, tmp_path)
    account = Settings(base_url=api.running.base_url, api_key=api.running.api_key).account
    config = ReceiverConfig(state_dir=state, account=account, username="infobip", password="s3cret")
    with RunningReceiver(config, sock=sock):
        batch.document(DOC)
        rows = [hr_alpha(f"Acme{n:02d}") for n in range(12)]
        rows += [toll_free(str(q)) for q in (1, 2, 3)]
        result = batch.run(str(batch.csv(rows)), "--state-dir", str(state))
        assert result.exit_code == 0, result.output
        ids = tuple(r["id"] for r in api.stored())
        assert len(ids) == 15

        api.advance(2 * DAY)
        stored = {r["id"]: r for r in api.stored()}

        def statuses() -> dict[str, str | None]:
            return {rid: e.request_status for rid, e in entries(state, account, ids).items()}

        wait_until(
            lambda: statuses() == {rid: r["status"] for rid, r in stored.items()},
            "every notified status in the journal",
        )
        journal = entries(state, account, ids)
        for rid, request in stored.items():
            assert journal[rid].feedback == request["requirementsFeedback"]
            if request["status"] == "COMPLETED" and request["type"] == "NUMBER_PURCHASE":
                assert journal[rid].numbers == request["numbers"] != []
        waiting = [rid for rid, r in stored.items() if r["status"].startswith("UPDATE_REQUESTED")]
        assert waiting and all(journal[rid].feedback for rid in waiting)

        for advance, days in ((2 * DAY, 27), (12 * DAY, 15)):
            api.advance(advance)
            wait_until(
                lambda days=days: all(
                    entries(state, account, ids)[rid].days_until_rejection == days
                    for rid in waiting
                ),
                f"reminder of {days} days",
            )
            assert statuses() == {rid: r["status"] for rid, r in stored.items()}

        api.advance(15 * DAY)
        wait_until(lambda: all(statuses()[rid] == "REJECTED" for rid in waiting), "the rejections")
        journal = entries(state, account, ids)
        assert all(journal[rid].days_until_rejection is None for rid in waiting), "countdown over"
        assert all(journal[rid].note for rid in waiting)
    reminders = [
        (rid, body["content"]["daysUntilRejection"])
        for rid, kind, body in kept(state, account)
        if kind == REMINDER
    ]
    assert sorted(reminders) == sorted((rid, d) for rid in waiting for d in (27, 15, 3))


# -- direct POSTs -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(None, id="missing"),
        pytest.param(("infobip", "wrong"), id="wrong-password"),
        pytest.param(("someone", "s3cret"), id="wrong-username"),
        pytest.param(("infobip", "s3cret-and-more"), id="longer-password"),
    ],
)
def test_wrong_or_missing_credentials_are_refused(hook, state, auth) -> None:
    """Without Infobip's Basic credentials: 401 with a Basic challenge, nothing recorded."""
    response = post(hook, {"results": [status("req-1", "COMPLETED")]}, auth=auth)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert entries(state)["req-1"].request_status == "PENDING"
    assert kept(state) == []


@pytest.mark.parametrize(
    "header",
    [
        pytest.param("Bearer s3cret", id="other-scheme"),
        pytest.param("Basic !!!not-base64", id="not-base64"),
        pytest.param("Basic aW5mb2JpcHMzY3JldA==", id="no-colon"),
        pytest.param(b"Basic \xff\xfe\xfd", id="non-ascii"),
        pytest.param(b"Basic aW5mb2JpcDpz\xffM2NyZXQ=", id="non-ascii-inside"),
        pytest.param(b"B\xe1sic aW5mb2JpcDpzM2NyZXQ=", id="non-ascii-scheme"),
        pytest.param("Basic aW5mb2JpcDpz6WNyZXQ=", id="not-utf8"),  # infobip:s\xe9cret
    ],
)
def test_malformed_authorization_is_refused(hook, state, header, caplog) -> None:
    """An Authorization header that is not Basic user:password (non-ASCII bytes
    included) is a 401 like wrong credentials: no 500, no traceback in the log."""
    with caplog.at_level("INFO"):
        response = post(
            hook,
            {"results": [status("req-1", "COMPLETED")]},
            auth=None,
            headers={"Authorization": header},
        )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Basic ")
    assert kept(state) == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert not any(r.exc_info for r in caplog.records)
    assert "refused: wrong or missing Basic credentials" in caplog.text


def test_a_batch_is_recorded_whole(hook, state, caplog) -> None:
    """Several events in one body: 200, and each request gets its status, feedback,
    note, numbers or days until rejection; one log line per event, no password."""
    feedback = [{"key": "vatNumber", "code": "INVALID", "feedback": "Not a VAT number."}]
    numbers = [{"number": "18005550100", "status": "ACTIVE"}]
    body = {
        "results": [
            status("req-1", "UPDATE_REQUESTED", requirementsFeedback=feedback),
            status("req-2", "COMPLETED", at=LATE, numbers=numbers, note="All done."),
            reminder("req-3", 27),
        ]
    }
    with caplog.at_level("INFO", logger="batch.webhook"):
        response = post(hook, body)
    assert response.status_code == 200, response.text
    found = entries(state)
    assert found["req-1"].request_status == "UPDATE_REQUESTED"
    assert found["req-1"].feedback == feedback
    assert str(found["req-1"].status_at) == "2025-03-11 09:22:47+00:00"
    assert (found["req-2"].request_status, found["req-2"].note) == ("COMPLETED", "All done.")
    assert found["req-2"].numbers == numbers
    assert str(found["req-2"].status_at) == "2025-03-12 10:00:00+00:00"
    assert (found["req-3"].request_status, found["req-3"].days_until_rejection) == ("PENDING", 27)
    assert [(rid, kind) for rid, kind, _ in kept(state)] == [
        ("req-1", STATUS),
        ("req-2", STATUS),
        ("req-3", REMINDER),
    ]
    lines = [r for r in caplog.records if r.name == "batch.webhook"]
    assert [r.fields["requestId"] for r in lines] == ["req-1", "req-2", "req-3"]
    assert {r.fields["result"] for r in lines} == {"RECORDED"}
    assert "s3cret" not in caplog.text


def test_the_same_event_twice_is_recorded_once(hook, state) -> None:
    """A redelivery is answered 200 and kept once; the status is unchanged by it."""
    event = status("req-1", "COMPLETED", at=LATE)
    assert post(hook, {"results": [event]}).status_code == 200
    assert post(hook, {"results": [event, event]}).status_code == 200
    assert kept(state) == [("req-1", STATUS, event)]
    assert entries(state)["req-1"].request_status == "COMPLETED"


def test_an_older_status_never_overwrites_a_newer_one(hook, state) -> None:
    """UPDATE_REQUESTED arriving after the later REJECTED is kept as an event, but the
    journal still says REJECTED, as of its time."""
    assert post(hook, {"results": [status("req-1", "REJECTED", at=LATE, note="No.")]}).is_success
    older = status("req-1", "UPDATE_REQUESTED", at=EARLY, requirementsFeedback=[])
    assert post(hook, {"results": [older]}).status_code == 200
    entry = entries(state)["req-1"]
    assert (entry.request_status, entry.note) == ("REJECTED", "No.")
    assert str(entry.status_at) == "2025-03-12 10:00:00+00:00"
    assert len(kept(state)) == 2


def test_a_future_receivedat_is_taken_as_now_and_a_poll_corrects_it(
    make_api, tmp_path: Path, caplog
) -> None:
    """A status whose receivedAt is a day ahead of this clock is recorded as of now, with
    a warning, instead of outranking every later status; `resource-batch status` then
    records what Infobip says (polled, as of a later now) over it."""
    state = tmp_path / "state"
    batch = Batch(make_api(rate_limits=False), tmp_path)
    batch.document(DOC)
    result = batch.run(str(batch.csv([toll_free()])), "--state-dir", str(state))
    assert result.exit_code == 0, result.output
    [request] = batch.api.stored()
    rid, truth = request["id"], request["status"]
    account = Settings(base_url=batch.api.running.base_url, api_key=batch.api.running.api_key)
    config = ReceiverConfig(
        state_dir=state, account=account.account, username=AUTH[0], password=AUTH[1]
    )
    ahead = datetime.now(UTC) + timedelta(days=1)
    webhook_log = logging.getLogger("batch.webhook")
    webhook_log.addHandler(caplog.handler)  # the run set the root logger's handlers anew
    try:
        with RunningReceiver(config) as running, caplog.at_level("INFO", "batch.webhook"):
            wrong = status(rid, "UPDATE_REQUESTED", at=ahead.isoformat(), note="Not this one.")
            assert post(running, {"results": [wrong]}).status_code == 200
    finally:
        webhook_log.removeHandler(caplog.handler)
    entry = entries(state, account.account, (rid,))[rid]
    assert entry.request_status == "UPDATE_REQUESTED"
    assert entry.status_at is not None
    assert abs(entry.status_at - datetime.now(UTC)) < timedelta(minutes=1)
    [warning] = [r for r in caplog.records if r.levelname == "WARNING"]
    assert warning.getMessage().startswith(
        f"webhook {rid}: receivedAt {ahead.astimezone(UTC).isoformat()} is later than this clock ("
    )
    assert warning.getMessage().endswith(
        ": recorded as of now, so that a later status can replace it"
    )
    assert kept(state, account.account)[0][2] == wrong, "the event is kept as it came"

    polled = batch.run("status", "--state-dir", str(state), fast=False)
    assert polled.exit_code in (0, 1), polled.output
    entry = entries(state, account.account, (rid,))[rid]
    assert (entry.request_status, entry.note) == (truth, None) != ("UPDATE_REQUESTED", None)


def test_receivedat_formats_and_its_absence(hook, state) -> None:
    """`+0000`, `Z` and offset forms order correctly; a status without receivedAt is taken
    as of now, and its redelivery does not count as newer."""
    body = {
        "results": [
            status("req-1", "UPDATE_REQUESTED", at="2025-03-12T12:00:00.000+0200"),
            status("req-1", "REJECTED", at="2025-03-12T10:00:00.001Z"),
            status("req-2", "COMPLETED", at=None),
        ]
    }
    assert post(hook, body).status_code == 200
    found = entries(state)
    assert found["req-1"].request_status == "REJECTED"
    assert found["req-2"].request_status == "COMPLETED"
    assert found["req-2"].status_at is not None
    assert abs(datetime.now(UTC) - found["req-2"].status_at) < timedelta(minutes=1)
    late = status("req-2", "UPDATE_REQUESTED", at=None)
    assert post(hook, {"results": [late]}).status_code == 200
    first_at = entries(state)["req-2"].status_at
    assert post(hook, {"results": [late]}).status_code == 200
    assert entries(state)["req-2"].status_at == first_at


def test_a_reminder_keeps_the_status_and_counts_down(hook, state) -> None:
    """A reminder records daysUntilRejection only; one with more days left than the one
    held is older and ignored."""
    assert post(hook, {"results": [status("req-1", "UPDATE_REQUESTED_BY_INTERNAL_REVIEWER")]})
    assert post(hook, {"results": [reminder("req-1", 15, "UPDATE_REQUESTED")]}).is_success
    assert post(hook, {"results": [reminder("req-1", 27, "UPDATE_REQUESTED")]}).is_success
    entry = entries(state)["req-1"]
    assert entry.request_status == "UPDATE_REQUESTED_BY_INTERNAL_REVIEWER"
    assert entry.days_until_rejection == 15


def test_an_unknown_status_is_recorded_as_is(hook, state) -> None:
    """A status value the spec does not list yet is not fatal: it is recorded."""
    assert post(hook, {"results": [status("req-1", "ON_HOLD", extra={"new": True})]}).is_success
    assert entries(state)["req-1"].request_status == "ON_HOLD"


def test_an_unknown_request_is_kept_and_answered_200(hook, state, caplog) -> None:
    """A request made in the portal: 200 (else Infobip retries forever), kept as an
    event, logged as a warning; the journal's requests are untouched."""
    event = status("portal-1", "COMPLETED")
    with caplog.at_level("INFO", logger="batch.webhook"):
        assert post(hook, {"results": [event]}).status_code == 200
    assert kept(state) == [("portal-1", STATUS, event)]
    assert {e.request_status for e in entries(state).values()} == {"PENDING"}
    warned = [r for r in caplog.records if r.levelname == "WARNING"]
    assert warned and warned[0].fields["result"] == "UNKNOWN_REQUEST"


MALFORMED = [
    pytest.param(b"{not json", "the body is not JSON", id="not-json"),
    pytest.param(b"\xff\xfe", "the body is not JSON", id="not-utf8"),
    pytest.param(b"[" * 100_000, "the body is not JSON", id="too-deep"),
    pytest.param([], "'results' list", id="array"),
    pytest.param({"results": {"event": STATUS}}, "'results' list", id="results-not-a-list"),
    pytest.param({"results": ["x"]}, "results[0]: must be an object", id="result-not-object"),
    pytest.param(
        {"results": [{"event": STATUS, "content": {"status": "COMPLETED"}}]},
        "results[0].content.id",
        id="missing-id",
    ),
    pytest.param(
        {"results": [status(7, "COMPLETED")]}, "results[0].content.id", id="id-not-a-string"
    ),
    pytest.param(
        {"results": [{"event": STATUS, "content": {"id": "req-1"}}]},
        "results[0].content.status",
        id="missing-status",
    ),
    pytest.param(
        {"results": [{"event": STATUS, "receivedAt": EARLY}]}, "results[0].content", id="no-content"
    ),
    pytest.param(
        {"results": [{**status("req-1", "COMPLETED"), "event": "SOMETHING_ELSE"}]},
        "results[0].event",
        id="unknown-event",
    ),
    pytest.param(
        {
            "results": [
                {"event": REMINDER, "content": {"id": "req-1", "status": "UPDATE_REQUESTED"}}
            ]
        },
        "daysUntilRejection",
        id="reminder-without-days",
    ),
    pytest.param({"results": [reminder("req-1", "27")]}, "daysUntilRejection", id="days-text"),
    pytest.param({"results": [reminder("req-1", True)]}, "daysUntilRejection", id="days-bool"),
    pytest.param({"results": [reminder("req-1", -1)]}, "daysUntilRejection", id="days-negative"),
    pytest.param(
        {"results": [status("req-1", "COMPLETED", at="yesterday")]}, "receivedAt", id="bad-time"
    ),
    pytest.param(
        {"results": [status("req-1", "COMPLETED", at="2025-03-11")]}, "receivedAt", id="date-only"
    ),
    pytest.param(
        {"results": [status("req-1", "COMPLETED", at="0001-01-01T00:00:00+01:00")]},
        "receivedAt",
        id="before-year-one-in-utc",
    ),
    pytest.param(
        {"results": [status("req-1", "COMPLETED", at="9999-12-31T23:59:59-01:00")]},
        "receivedAt",
        id="after-year-9999-in-utc",
    ),
    pytest.param(
        {"results": [status("req-1", "UPDATE_REQUESTED", requirementsFeedback="fix it")]},
        "requirementsFeedback",
        id="feedback-not-a-list",
    ),
    pytest.param(
        {"results": [status("req-1", "COMPLETED"), status("req-2", "COMPLETED", note=5)]},
        "results[1].content.note",
        id="one-good-one-bad",
    ),
    pytest.param(
        {"results": [reminder("req-3", 27), reminder("req-2", None)]},
        "results[1].content.daysUntilRejection",
        id="good-reminder-bad-reminder",
    ),
]


@pytest.mark.parametrize(("body", "problem"), MALFORMED)
def test_a_malformed_body_is_400_and_records_nothing(hook, state, body, problem) -> None:
    """Any bad result refuses the whole batch with 400 saying what is wrong; nothing is
    recorded, and the receiver goes on answering."""
    if isinstance(body, bytes):
        response = post(hook, None, content=body, headers={"Content-Type": "application/json"})
    else:
        response = post(hook, body)
    assert response.status_code == 400, response.text
    assert problem in json.dumps(response.json())
    assert kept(state) == []
    assert {e.request_status for e in entries(state).values()} == {"PENDING"}
    assert {e.days_until_rejection for e in entries(state).values()} == {None}
    assert post(hook, {"results": [status("req-1", "COMPLETED")]}).status_code == 200


def test_wrong_content_type_is_415(hook, state) -> None:
    """A body that does not say it is JSON is refused, unread."""
    body = json.dumps({"results": [status("req-1", "COMPLETED")]})
    response = post(hook, None, content=body, headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert kept(state) == []


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_huge_body_is_413(hook, state, chunked) -> None:
    """Over 1 MiB is refused without being read whole; the receiver still answers."""
    event = status("req-1", "COMPLETED", note="x" * (2 * 1024 * 1024))
    data = json.dumps({"results": [event]}).encode()
    content: Any = (
        iter([data[i : i + 65536] for i in range(0, len(data), 65536)]) if chunked else data
    )
    try:
        response = post(hook, None, content=content, headers={"Content-Type": "application/json"})
    except httpx.TransportError:
        pass  # closed while still sending: also refused
    else:
        assert response.status_code == 413
    assert kept(state) == []
    assert post(hook, {"results": [status("req-1", "COMPLETED")]}).status_code == 200


def test_paths_and_methods(hook) -> None:
    """Only POST on the configured path: other paths 404, other methods 405; GET
    /healthz answers without credentials."""
    assert httpx.get(hook.base_url + "/healthz").json() == {"status": "ok"}
    assert httpx.get(hook.url, auth=AUTH).status_code == 405
    assert httpx.post(hook.base_url + "/other", json={}, auth=AUTH).status_code == 404
    assert httpx.post(hook.url + "/", json={}, auth=AUTH).status_code == 404


def test_an_empty_batch_is_200(hook, state) -> None:
    """`results: []` is a valid, empty delivery."""
    assert post(hook, {"results": []}).json() == {"received": 0}
    assert kept(state) == []


# -- the command --------------------------------------------------------------------------


@pytest.fixture
def no_hook_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("RESOURCE_BATCH_WEBHOOK_USERNAME", "RESOURCE_BATCH_WEBHOOK_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


INFOBIP = {"INFOBIP_BASE_URL": "https://x.api.infobip.com", "INFOBIP_API_KEY": "the-api-key"}


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="neither"),
        pytest.param(["--username", "infobip"], id="no-password"),
        pytest.param(["--password", "s3cret"], id="no-username"),
    ],
)
def test_no_basic_credentials_exit_2(no_hook_credentials, tmp_path, args) -> None:
    """No unauthenticated receiver: without username and password it does not start."""
    result = CliRunner().invoke(
        cli_main, ["webhook", "--state-dir", str(tmp_path), "--port", "0", *args], env=INFOBIP
    )
    assert result.exit_code == 2, result.output
    assert "RESOURCE_BATCH_WEBHOOK_PASSWORD" in result.output
    assert list(tmp_path.iterdir()) == []


def test_no_infobip_credentials_exit_2(no_hook_credentials, tmp_path) -> None:
    """The journal is named by base URL and key: without them there is no journal."""
    result = CliRunner().invoke(
        cli_main,
        ["webhook", "--state-dir", str(tmp_path), "--port", "0"],
        env={"RESOURCE_BATCH_WEBHOOK_USERNAME": "infobip", "RESOURCE_BATCH_WEBHOOK_PASSWORD": "p"},
    )
    assert result.exit_code == 2, result.output
    assert "no Infobip base URL and API key" in result.output


def test_a_password_that_is_not_text_stops_at_start(no_hook_credentials, tmp_path) -> None:
    """A password from the environment holding a byte that is not UTF-8 stops the
    receiver at start (exit 2), instead of answering every call with a 500."""
    env = {**INFOBIP, "RESOURCE_BATCH_WEBHOOK_USERNAME": "infobip"}
    env["RESOURCE_BATCH_WEBHOOK_PASSWORD"] = "pa\udcffss"  # os.fsdecode(b"pa\xffss")
    result = CliRunner().invoke(
        cli_main, ["webhook", "--state-dir", str(tmp_path), "--port", "0"], env=env
    )
    assert result.exit_code == 2, result.output
    assert "the webhook password has a byte that is not UTF-8 text" in result.output


@pytest.mark.skipif(sys.platform == "win32", reason="Windows has no SIGTERM to send")
def test_the_command_serves_until_sigterm(tmp_path) -> None:
    """`resource-batch webhook` with credentials from the environment: it announces its
    URL, records into run's journal for that account, logs JSON lines without the
    password or key, and stops cleanly on SIGTERM."""
    state = tmp_path / "state"
    account = Settings(base_url=INFOBIP["INFOBIP_BASE_URL"], api_key="the-api-key").account
    submitted(state, account, ("req-9",))
    env = {
        **os.environ,
        **INFOBIP,
        "RESOURCE_BATCH_STATE_DIR": str(state),
        "RESOURCE_BATCH_WEBHOOK_USERNAME": "infobip",
        "RESOURCE_BATCH_WEBHOOK_PASSWORD": "s3cret",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "batch", "webhook", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first.startswith("Receiving Infobip webhooks at http://127.0.0.1:"), first
        url = first.split(" at ")[1].split()[0]
        assert url.endswith("/webhooks/infobip")
        response = httpx.post(url, json={"results": [reminder("req-9", 3)]}, auth=AUTH, timeout=10)
        assert response.status_code == 200, response.text
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    assert process.returncode == 0, stderr
    assert entries(state, account, ("req-9",))["req-9"].days_until_rejection == 3
    lines = [json.loads(line) for line in stderr.splitlines()]
    assert [(line["requestId"], line["result"]) for line in lines] == [("req-9", "RECORDED")]
    assert "s3cret" not in stderr and "the-api-key" not in stderr
