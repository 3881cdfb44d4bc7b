"""The CLI against a hostile server in front of the sandbox: whatever answers (a proxy's
page, a redirect, a gzip bomb, a byte a second, an answer off the spec), the user gets
words, a row result or a clean stop, the journal holds the truth, and the key is in no
byte of what is shown or written."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import platformdirs
import pytest

from batch.config import APP
from tests.conftest import Batch
from tests.hostile import Hostile, gzip_bomb, serve
from tests.test_run import DOC, hr_alpha, toll_free

LOOKUP = "/resources/1/requirements-lookup"
REQUESTS = "/resources/1/requests"
DOCUMENTS = "/resources/1/documents"


@pytest.fixture
def hostile(batch: Batch) -> Iterator[Hostile]:
    yield from serve(batch.api.running.base_url, {})


def through(batch: Batch, hostile: Hostile, *args: str, **env: str) -> tuple[int, str]:
    """The command through the hostile server; its exit code and output, which must
    never hold the key."""
    fast = args[0] != "template"  # it takes no --limit
    result = batch.run(*args, env={"INFOBIP_BASE_URL": hostile.url, **env}, fast=fast)
    assert batch.api.running.api_key not in result.output
    return result.exit_code, result.output


def results(batch: Batch) -> list[dict[str, str]]:
    path = batch.folder / "requests.results.csv"
    assert batch.api.running.api_key.encode() not in path.read_bytes()
    return batch.results(path)


def journal_rows() -> list[tuple[str, str | None]]:
    (path,) = Path(platformdirs.user_data_dir(APP)).rglob("journal-*.sqlite3")
    with sqlite3.connect(path) as db:
        return db.execute("SELECT state, request_id FROM requests ORDER BY key").fetchall()


PAGE = b"<html><body><h1>Proxy Authentication Required</h1>key=%s</body></html>"


@pytest.mark.parametrize("status", [407, 404])
def test_a_proxy_page_refusing_the_lookup_makes_rows_invalid_and_is_not_remembered(
    batch, hostile, status
) -> None:
    """A corporate proxy's 407 or 404 page (echoing the key, as some do): each row that
    needed the lookup is INVALID with the status and an excerpt, the key blanked; the next
    run, the proxy fixed, asks again instead of remembering the page for a day as
    "Infobip offers no ..."."""
    batch.document(DOC)
    batch.csv([hr_alpha()])
    page = PAGE % batch.api.running.api_key.encode()
    hostile.on("POST", LOOKUP, status=status, body=page, headers={"Content-Type": "text/html"})
    code, output = through(batch, hostile, "validate", str(batch.folder / "requests.csv"))
    assert code == 1, output
    (row,) = results(batch)
    assert row["result"] == "INVALID"
    assert row["nextStep"].startswith("Not checked, not sent: Infobip's requirements for it")
    assert (
        "the requirements lookup for alphanumeric registration in HR was refused on its way"
        " to Infobip (by a proxy?)" in row["errors"]
    )
    assert (
        f"HTTP {status}: <html><body><h1>Proxy Authentication Required</h1>key=[API key]"
        in (row["errors"])
    )
    hostile.rules.clear()
    code, output = through(batch, hostile, "validate", str(batch.folder / "requests.csv"))
    assert code == 0, output
    assert results(batch)[0]["result"] == "VALID"
    assert hostile.seen["POST", LOOKUP] == 2


def test_infobip_refusing_a_lookup_with_a_code_unknown_to_us_is_remembered(batch, hostile):
    """Infobip's own JSON error with a code this version does not know: the rows are
    INVALID with Infobip's code and text, and the answer is remembered like any other."""
    batch.document(DOC)
    path = batch.csv([hr_alpha(), hr_alpha("AcmeTwo")])
    error = {"errorCode": "RR-NEW-RULE400", "description": "A new rule.", "action": "Wait."}
    hostile.on("POST", LOOKUP, status=400, body=json.dumps(error).encode())
    for _ in range(2):
        code, output = through(batch, hostile, "run", str(path))
        assert code == 1, output
        rows = results(batch)
        assert [r["result"] for r in rows] == ["INVALID", "INVALID"]
        assert (
            "refused the requirements lookup for alphanumeric registration in HR:"
            in rows[0]["errors"]
        )
        assert "RR-NEW-RULE400: A new rule." in rows[0]["errors"]
    assert hostile.seen["POST", LOOKUP] == 1
    assert batch.api.stored() == []


@functools.cache
def _bomb() -> bytes:
    return gzip_bomb(160 * 2**20)  # 160 MB unpacked, 160 kB sent


@pytest.mark.parametrize(
    ("rule", "said"),
    [
        pytest.param(
            {"body": b"<html>Welcome to the hotel Wi-Fi</html>", "headers": {}},
            "answered HTTP 200 (no content type: '<html>Welcome to the hotel Wi-Fi</html>'):"
            " not JSON",
            id="html",
        ),
        pytest.param(
            {"body": b'[{"key": "companyName"}]'},
            "the body: [{'key': 'companyName'}] is not of type 'object'",
            id="json-list",
        ),
        pytest.param(
            {"body": b'{"requirements": [{"key": "companyName", "type": 7}, "x"]}'},
            "requirements[0].type: 7 is not of type 'string'",
            id="bad-item",
        ),
        pytest.param(
            {"status": 302, "headers": {"Location": "https://login.example/sso?next=1"}},
            "answered HTTP 302 (no content type, empty): a redirect to"
            " https://login.example/sso; redirects are never followed",
            id="redirect",
        ),
        pytest.param(
            {"headers": {"Content-Type": "application/json", "Content-Encoding": "gzip"}},
            "answered HTTP 200 (application/json): more than 64 MB once unpacked",
            id="gzip-bomb",
        ),
    ],
)
def test_a_lookup_answered_off_the_spec_makes_its_rows_invalid(batch, hostile, rule, said):
    """A 200 that is not a list of requirements, a redirect (never followed: the key
    would go with it), or a gzip bomb (stopped at 64 MB unpacked): the rows are INVALID
    saying what came back, nothing is sent, and nothing is remembered."""
    if "Content-Encoding" in rule.get("headers", {}):
        rule = {**rule, "body": _bomb()}
    batch.document(DOC)
    path = batch.csv([hr_alpha(), toll_free()])
    hostile.on("POST", LOOKUP, when=b"ALPHANUMERIC", times=1, **rule)
    code, output = through(batch, hostile, "run", str(path))
    assert code == 1, output
    alpha, numbers = results(batch)
    assert alpha["result"] == "INVALID", alpha
    assert (
        "the requirements for alphanumeric registration in HR could not be read" in alpha["errors"]
    )
    assert f"POST {LOOKUP} answered HTTP" in alpha["errors"]
    assert said in alpha["errors"], alpha["errors"]
    assert numbers["result"] == "SUBMITTED"
    assert [r["type"] for r in batch.api.stored()] == ["NUMBER_PURCHASE"]
    code, output = through(batch, hostile, "run", str(path))
    assert results(batch)[0]["result"] == "SUBMITTED"  # asked again, not remembered


def test_a_server_trickling_its_answer_is_given_up_at_the_call_deadline(batch, hostile):
    """A byte a second keeps no call forever: at call_deadline the run stops (exit 3)
    saying so, before anything is spent."""
    batch.document(DOC)
    path = batch.csv([hr_alpha()])
    config = batch.folder / "config.toml"
    config.write_text("call_deadline = 1\n")
    hostile.on("POST", LOOKUP, body=b'{"requirements": []}' * 10, drip=0.2)
    code, output = through(batch, hostile, "run", str(path), RESOURCE_BATCH_CONFIG=str(config))
    assert code == 3, output
    assert f"Infobip did not finish answering POST {LOOKUP} within 1 s (call_deadline)" in output
    assert batch.api.stored() == []


def test_an_upload_answered_without_a_document_id_fails_only_its_rows(batch, hostile) -> None:
    """An upload 201 without documentId: the rows naming the file are FAILED saying so,
    the others are sent; no traceback, every row in the results."""
    batch.document(DOC)
    path = batch.csv([hr_alpha(), toll_free()])
    hostile.on("POST", DOCUMENTS, status=201, body=b"{}")
    code, output = through(batch, hostile, "run", str(path))
    assert code == 1, output
    alpha, numbers = results(batch)
    assert alpha["result"] == "FAILED"
    assert f"document upload failed: POST {DOCUMENTS} answered HTTP 201" in alpha["errors"]
    assert "no documentId" in alpha["errors"]
    assert numbers["result"] == "SUBMITTED"
    assert [r["type"] for r in batch.api.stored()] == ["NUMBER_PURCHASE"]


def test_a_submit_stored_but_answered_with_a_null_id_is_found_in_the_list(batch, hostile):
    """A 201 with `"id": null` (Infobip stored it): the row is not recorded with the
    requestId "None" but found in Infobip's list, once."""
    path = batch.csv([toll_free()])
    hostile.on("POST", REQUESTS, status=201, body=b'{"id": null}', forward=True)
    code, output = through(batch, hostile, "run", str(path))
    assert code == 0, output
    (stored,) = batch.api.stored()
    (row,) = results(batch)
    assert (row["result"], row["requestId"]) == ("SUBMITTED", stored["id"])
    assert journal_rows() == [("SUBMITTED", stored["id"])]


def test_a_redirected_submit_is_not_followed_and_sent_once(batch, hostile) -> None:
    """A 302 on submit is never followed; whether it was stored is looked up in the list
    (it was not), and it is sent once more: one request."""
    path = batch.csv([toll_free()])
    hostile.on("POST", REQUESTS, status=302, headers={"Location": "/elsewhere"}, times=1)
    code, output = through(batch, hostile, "run", str(path))
    assert code == 0, output
    (stored,) = batch.api.stored()
    assert results(batch)[0]["requestId"] == stored["id"]
    assert hostile.seen["POST", REQUESTS] == 2


def test_status_stops_cleanly_on_a_list_that_is_not_json(batch, hostile) -> None:
    """`status` when the list answers a page of HTML: exit 3 naming the call; the sheet
    is left as it was."""
    path = batch.csv([toll_free()])
    assert through(batch, hostile, "run", str(path))[0] == 0
    sheet = batch.folder / "requests.results.csv"
    before = sheet.read_bytes()
    hostile.on("GET", REQUESTS, body=b"<html>maintenance</html>", headers={})
    code, output = through(batch, hostile, "status", str(sheet))
    assert code == 3, output
    assert f"GET {REQUESTS} answered HTTP 200 (no content type: '<html>maintenance</html>')" in (
        output
    )
    assert sheet.read_bytes() == before


def test_a_long_retry_after_is_waited_and_logged(batch, hostile) -> None:
    """A 429 asking for 5 s: waited out, and logged, so a slow run is seen to be waiting."""
    batch.document(DOC)
    path = batch.csv([hr_alpha()])
    hostile.on("POST", LOOKUP, status=429, headers={"Retry-After": "5"}, times=1)
    code, output = through(batch, hostile, "validate", str(path), "--log-format", "json")
    assert code == 0, output
    assert f"POST {LOOKUP}: Infobip asks to wait 5 s before trying again" in output


def test_a_stored_submit_whose_answer_the_journal_cannot_record_keeps_its_id(
    batch, monkeypatch
) -> None:
    """Infobip stores the request, then the journal cannot record its id (a full disk):
    the run stops with exit 2 saying so, and the row is SUBMITTED with that id, not
    "FAILED, not sent"; the next run finds it in the list and sends nothing again."""
    from batch import journal as batch_journal
    from batch.errors import DiskFull

    path = batch.csv([toll_free()])

    def full(self, key, request_id, **kwargs):
        raise DiskFull("out of space: cannot write journal (test)", path=self.path)

    with monkeypatch.context() as patch:
        patch.setattr(batch_journal.Journal, "submitted", full)
        result = batch.run(str(path))
    assert result.exit_code == 2, result.output
    assert "out of space: cannot write journal (test)" in result.stderr
    (stored,) = batch.api.stored()
    (row,) = batch.results(batch.folder / "requests.results.csv")
    assert (row["result"], row["requestId"]) == ("SUBMITTED", stored["id"])
    assert "the journal could not record its requestId" in row["errors"]
    assert journal_rows() == [("SUBMITTING", None)]  # what the journal knows
    again = batch.run(str(path))
    assert again.exit_code == 0, again.output
    (row,) = batch.results(batch.folder / "requests.results.csv")
    assert (row["result"], row["requestId"]) == ("ALREADY_SUBMITTED", stored["id"])
    assert len(batch.api.stored()) == 1


def test_cron_keeps_a_file_whose_lookups_a_proxy_refused_for_the_next_night(batch, hostile):
    """In cron mode, a file whose rows could not be checked (a proxy refused the lookup)
    stays in the inbox for the next run, instead of being filed away as processed."""
    inbox = batch.folder / "inbox"
    inbox.mkdir()
    batch.document(f"inbox/{DOC}")
    path = batch.csv([hr_alpha()], name="inbox/export.csv")
    hostile.on("POST", LOOKUP, status=407, body=b"<html>Proxy login</html>")
    code, output = through(batch, hostile, "run", "--inbox", str(inbox))
    assert code == 1, output
    assert path.exists() and not (inbox / "processed").exists()
    hostile.rules.clear()
    code, output = through(batch, hostile, "run", "--inbox", str(inbox))
    assert code == 0, output
    assert (inbox / "processed" / "export.csv").exists()


def test_a_proxy_refusing_with_403_is_not_blamed_on_the_key(batch, hostile) -> None:
    """A 403 page that is not Infobip's (a proxy's policy) stops the run as refused
    credentials would (exit 3), but says what answered, not that the key is wrong."""
    batch.document(DOC)
    path = batch.csv([hr_alpha()])
    hostile.on("POST", LOOKUP, status=403, body=b"<html>Blocked by policy</html>", headers={})
    code, output = through(batch, hostile, "run", str(path))
    assert code == 3, output
    assert (
        f"Error: POST {LOOKUP} was refused with HTTP 403 by something that is not Infobip's"
        " API (a proxy?): <html>Blocked by policy</html>" in output
    )
    assert batch.api.stored() == []


def test_a_key_echoed_in_headers_is_blanked_in_any_case(batch, hostile) -> None:
    """A proxy echoing the key in a Content-Type and, lowercased, in a redirect's host:
    the row says what came back with the key blanked, in every letter case."""
    batch.document(DOC)
    path = batch.csv([hr_alpha()])
    key = batch.api.running.api_key
    headers = {"Content-Type": f"text/{key}", "Location": f"https://{key.lower()}.example/x"}
    hostile.on("POST", LOOKUP, status=302, headers=headers)
    code, output = through(batch, hostile, "run", str(path))
    assert code == 1, output
    (row,) = results(batch)
    assert (
        "answered HTTP 302 (text/[API key], empty): a redirect to https://[API key].example/x"
        in (row["errors"])
    )
    written = (batch.folder / "requests.results.csv").read_text(encoding="utf-8-sig")
    assert key.lower() not in (written + output).lower()


def test_a_key_echoed_in_a_downloaded_file_name_is_blanked(batch, hostile) -> None:
    """`template` downloads Infobip's attachments by the names their answer gives: a
    name holding the key is written and shown with the key blanked."""
    key = batch.api.running.api_key
    disposition = f'attachment; filename="form-{key}.pdf"'
    hostile.on(
        "GET",
        DOCUMENTS,
        forward=True,
        body=lambda passed: passed.content,
        headers={"Content-Type": "application/pdf", "Content-Disposition": disposition},
    )
    out = batch.folder / "hr.xlsx"
    args = ["template", "--type", "ALPHANUMERIC_REGISTRATION", "--country", "HR"]
    code, output = through(batch, hostile, *args, "--out", str(out))
    assert code == 0, output
    names = [p.name for p in batch.folder.rglob("*")]
    assert "form-[API key].pdf" in names, names
    assert not any(key in name for name in names)


@pytest.mark.parametrize(
    ("field", "said"),
    [
        ({"requirementsFeedback": "abc"}, "results[0]"),
        ({"numbers": 5}, "results[0]"),
        ({"capabilities": [1, "SMS"]}, "results[0]"),
    ],
)
def test_a_listed_request_off_the_spec_stops_status_cleanly(batch, hostile, field, said):
    """A list page whose request has a field of the wrong type: `status` stops with
    exit 3 naming the call, and nothing of it reaches the journal or the sheet."""
    path = batch.csv([toll_free()])
    assert through(batch, hostile, "run", str(path))[0] == 0
    sheet = batch.folder / "requests.results.csv"
    before = sheet.read_bytes()

    def mangled(passed) -> bytes:
        page = passed.json()
        page["results"][0].update(field)
        return json.dumps(page).encode()

    hostile.on("GET", REQUESTS, forward=True, body=mangled)
    code, output = through(batch, hostile, "status", str(sheet))
    assert code == 3, output
    assert f"Error: GET {REQUESTS} answered HTTP 200 (application/json: " in output
    assert f"{said}" in output and "Traceback" not in output
    assert sheet.read_bytes() == before
    hostile.rules.clear()
    assert through(batch, hostile, "status", str(sheet))[0] == 0


def test_a_lost_submit_looked_for_in_a_list_off_the_spec_is_uncertain(batch, hostile):
    """A submit stored but answered 502, then a list page off the spec: the row is
    UNCERTAIN (never sent again blindly), the results are written, and a later run with
    an honest list finds the request."""
    path = batch.csv([toll_free()])
    hostile.on("POST", REQUESTS, status=502, forward=True, body=b"<html>Bad gateway</html>")

    def mangled(passed) -> bytes:
        page = passed.json()
        page["paging"]["totalPages"] = "x"
        return json.dumps(page).encode()

    hostile.on("GET", REQUESTS, forward=True, body=mangled)
    code, output = through(batch, hostile, "run", str(path))
    assert code == 1, output
    (row,) = results(batch)
    assert row["result"] == "UNCERTAIN", row
    assert "Infobip's list could not be read" in row["errors"]
    hostile.rules.clear()
    code, output = through(batch, hostile, "run", str(path))
    (stored,) = batch.api.stored()
    assert (code, results(batch)[0]["requestId"]) == (0, stored["id"]), output


def test_template_stops_cleanly_when_a_proxy_answers_the_lookup(batch, hostile) -> None:
    """`template` behind a proxy's 407 page: exit 3 saying the lookup was refused on its
    way to Infobip, not "Infobip offers no ..." (exit 1)."""
    hostile.on("POST", LOOKUP, status=407, body=b"<html>Proxy login</html>", headers={})
    out = batch.folder / "hr.xlsx"
    args = ["template", "--type", "ALPHANUMERIC_REGISTRATION", "--country", "HR"]
    code, output = through(batch, hostile, *args, "--out", str(out))
    assert code == 3, output
    assert (
        "Error: the requirements lookup for alphanumeric registration in HR was refused on"
        " its way to Infobip (by a proxy?): HTTP 407: <html>Proxy login</html>" in output
    )
    assert not out.exists()


@pytest.mark.parametrize("forward", [True, False], ids=["stored", "not-stored"])
def test_a_gateway_page_refusing_a_submit_is_looked_up_not_trusted(batch, hostile, forward):
    """A 404 page that is not Infobip's on submit: a gateway may have passed the POST on,
    so it is looked for in Infobip's list, not taken as "refused, nothing stored": one
    request either way."""
    path = batch.csv([toll_free()])
    page = b"<html>Not found</html>"
    hostile.on("POST", REQUESTS, status=404, body=page, forward=forward, times=1, headers={})
    code, output = through(batch, hostile, "run", str(path))
    assert code == 0, output
    (stored,) = batch.api.stored()
    assert results(batch)[0]["requestId"] == stored["id"]
    assert hostile.seen["POST", REQUESTS] == (1 if forward else 2)


def test_a_key_quoted_in_infobips_own_error_is_blanked_everywhere(batch, hostile) -> None:
    """Infobip's JSON error quoting the key (in its description and a violation): blanked
    in the row, the log and the requirements cache; and in a refused key's message."""
    batch.document(DOC)
    path = batch.csv([hr_alpha()])
    key = batch.api.running.api_key
    error = {
        "errorCode": "E400",
        "description": f"Gateway: key App {key} rejected",
        "action": "",
        "violations": [{"property": "x", "violation": f"key {key.lower()}"}],
    }
    hostile.on("POST", LOOKUP, status=400, body=json.dumps(error).encode())
    code, output = through(batch, hostile, "run", str(path), "--log-format", "json")
    assert code == 1, output
    assert (
        "E400: Gateway: key App [API key] rejected (x: key [API key])"
        in results(batch)[0]["errors"]
    )
    cached = "".join(p.read_text() for p in Path(platformdirs.user_cache_dir(APP)).rglob("*.json"))
    assert "E400" in cached and key.lower() not in cached.lower()
    hostile.on("POST", LOOKUP, status=401, body=json.dumps({**error, "errorCode": "E401"}).encode())
    code, output = through(batch, hostile, "run", str(path), "--refresh-requirements")
    assert code == 3 and "Infobip refused the credentials: E401: Gateway: key App [API key]" in (
        output
    )
