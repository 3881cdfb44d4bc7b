"""`resource-batch sandbox`: it serves until stopped, and explains bad catalogues and options."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from batch.cli import main
from batch.sandbox.server import listen

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.mark.skipif(sys.platform == "win32", reason="Windows cannot send SIGINT to a process")
def test_sandbox_serves_until_interrupted(tmp_path: Path) -> None:
    """`resource-batch sandbox` prints its URL and key, answers over HTTP, stops on SIGINT."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "batch",
            "sandbox",
            "--port",
            "0",
            "--api-key",
            "k3y",
            "--speed",
            "5",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        line = process.stdout.readline()
        match = re.search(r"serving (http://127\.0\.0\.1:\d+) with API key 'k3y'", line)
        assert match, line
        response = httpx.post(
            f"{match[1]}/resources/1/requirements-lookup",
            json={"type": "ALPHANUMERIC_REGISTRATION", "countryCode": "DE"},
            headers={"Authorization": "App k3y"},
        )
        assert response.status_code == 200
        assert response.json()["requirements"]
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "Traceback" not in errors


def test_port_in_use_is_explained() -> None:
    """A taken port is a one-line error, not a traceback."""
    sock = listen("127.0.0.1", 0)
    try:
        port = sock.getsockname()[1]
        result = run("sandbox", "--port", str(port))
    finally:
        sock.close()
    assert result.exit_code == 1
    assert f"Error: cannot listen on 127.0.0.1:{port}: " in result.output  # then the OS's words
    assert "Traceback" not in result.output


def test_self_check() -> None:
    """--self-check starts a sandbox, shows one lookup's answer, and exits 0."""
    result = run("sandbox", "--self-check")
    assert result.exit_code == 0, result.output
    assert "HTTP 200" in result.output
    assert '"key": "companyName"' in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        pytest.param(["--fail-rate", "2"], "2.0 is not in the range 0<=x<=1", id="rate"),
        pytest.param(["--latency", "fast"], "'fast' is not MIN-MAX in milliseconds", id="latency"),
        pytest.param(["--latency", "200-20"], "need 0 <= MIN <= MAX", id="latency-order"),
        pytest.param(["--speed", "0"], "0.0 is not in the range x>0", id="speed"),
        pytest.param(
            ["--catalogue", "/nonexistent/c.json"],
            "/nonexistent/c.json: cannot read the catalogue",
            id="no-file",
        ),
    ],
)
def test_bad_options_are_explained(args, message) -> None:
    """Bad option values get a message naming the problem."""
    result = run("sandbox", *args)
    assert result.exit_code in (1, 2)
    assert message in result.output


ENTRY = {"type": "ALPHANUMERIC_REGISTRATION", "countryCode": "HR", "requirements": []}
REQ = {"key": "companyName", "type": "TEXT", "name": "Company", "required": True}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        pytest.param(
            "{oops",
            "not valid JSON: Expecting property name enclosed in double quotes at line 1, column 2",
            id="json",
        ),
        pytest.param([], "top level: [] is not of type 'object'", id="not-object"),
        pytest.param({}, "top level: 'entries' is a required property", id="no-entries"),
        pytest.param(
            {"entries": [ENTRY | {"type": "FAX"}]},
            "entries[0] (FAX HR).type: 'FAX' is not one of",
            id="type",
        ),
        pytest.param(
            {"entries": [{"type": "NUMBER_PURCHASE", "requirements": []}]},
            "entries[0] (NUMBER_PURCHASE ?): 'countryCode' is a required property",
            id="country-missing",
        ),
        pytest.param(
            {"entries": [ENTRY | {"countryCode": "hr"}]},
            "entries[0] (ALPHANUMERIC_REGISTRATION hr).countryCode: 'hr' does not match",
            id="country-case",
        ),
        pytest.param(
            {"entries": [{"type": "NUMBER_PURCHASE", "countryCode": "US"}]},
            'entries[0] (NUMBER_PURCHASE US): give "requirements" or "unavailable"'
            " (an error code); neither given",
            id="neither",
        ),
        pytest.param(
            {"entries": [ENTRY | {"unavailable": "RR-ALPHA-UNAVAILABLE404"}]},
            "entries[0] (ALPHANUMERIC_REGISTRATION HR): give"
            ' "requirements" or "unavailable" (an error code); both given',
            id="both",
        ),
        pytest.param(
            {"entries": [ENTRY, ENTRY | {"numberType": "PAGER"}]},
            "entries[1] (ALPHANUMERIC_REGISTRATION HR).numberType: 'PAGER' is not one of",
            id="second-entry",
        ),
        pytest.param(
            {"entries": [ENTRY | {"requirements": [REQ | {"type": "DATE"}]}]},
            "entries[0] (ALPHANUMERIC_REGISTRATION HR).requirements[0].type: 'DATE' is not one of",
            id="field-type",
        ),
        pytest.param(
            {"entries": [ENTRY | {"requirements": [REQ | {"validation": {"minLength": "3"}}]}]},
            ".requirements[0].validation.minLength: '3' is not of type 'integer'",
            id="rule-type",
        ),
        pytest.param(
            {"entries": [ENTRY | {"requirements": [REQ | {"validation": {"pattern": "([a-z"}}]}]},
            ".requirements[0].validation.pattern: '([a-z' is not a valid pattern",
            id="pattern",
        ),
        pytest.param(
            {"entries": [ENTRY | {"requirements": [REQ, REQ]}]},
            ".requirements[1].key: 'companyName' appears twice",
            id="duplicate-key",
        ),
        pytest.param(
            {
                "entries": [
                    ENTRY
                    | {
                        "requirements": [
                            REQ
                            | {
                                "type": "DOCUMENT",
                                "attachment": {"documentId": "AB12", "documentType": "TEMPLATE"},
                            }
                        ]
                    }
                ]
            },
            ".requirements[0].attachment.documentId: AB12... has no file",
            id="attachment-unknown",
        ),
        pytest.param(
            {
                "attachments": {"AB12": {"file": "missing.pdf", "contentType": "application/pdf"}},
                "entries": [],
            },
            "attachments.AB12.file: cannot read 'missing.pdf'",
            id="attachment-file",
        ),
        pytest.param(
            {"entries": [{"type": "NUMBER_PURCHASE", "countryCode": "US", "unavailable": "NOPE"}]},
            "entries[0] (NUMBER_PURCHASE US).unavailable: 'NOPE' does not match",
            id="unavailable-code",
        ),
    ],
)
def test_bad_catalogue_names_entry_and_field(tmp_path: Path, document, message) -> None:
    """A bad --catalogue gets one line naming the file, the entry and the field."""
    path = tmp_path / "catalogue.json"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    result = run("sandbox", "--catalogue", str(path))
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {path}: ")
    assert message in result.output, result.output
    assert "Traceback" not in result.output


def test_good_custom_catalogue_is_served(tmp_path: Path) -> None:
    """A custom catalogue with an attachment loads; its entry answers lookups."""
    (tmp_path / "form.pdf").write_bytes(b"%PDF-1.4 form")
    document_id = "AB" * 64
    spec = REQ | {
        "type": "DOCUMENT",
        "key": "form",
        "attachment": {"documentId": document_id, "documentType": "TEMPLATE"},
    }
    data = {
        "attachments": {document_id: {"file": "form.pdf", "contentType": "application/pdf"}},
        "entries": [
            {"type": "ALPHANUMERIC_REGISTRATION", "countryCode": "MT", "requirements": [spec]}
        ],
    }
    (tmp_path / "c.json").write_text(json.dumps(data))
    result = run("sandbox", "--catalogue", str(tmp_path / "c.json"), "--self-check")
    # The self-check asks for HR, which this catalogue does not offer.
    assert result.exit_code == 1
    assert "RR-ALPHA-UNAVAILABLE404" in result.output
