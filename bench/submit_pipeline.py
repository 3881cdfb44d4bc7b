"""Benchmark 1: is a run as fast as Infobip's limits allow, whatever the response times?

1,000 HR number-purchase rows needing 300 distinct documents, against the sandbox at
--speed 50 (50 submits and 50 uploads per second) with 20-200 ms added to every
response. Prints wall time / max(submits made / submit rate, uploads made / upload rate),
counting the calls the sandbox saw; target <= 1.10.

With --faults: 600 rows over 200 files at --speed 20, and besides the latency 3% of calls
answered 500, 2% an extra 429, and 2% of submits stored but never answered. The run's
Infobip-time settings are scaled to the sandbox's speed as its limits are (a submit
unanswered for 0.5 s is looked for in the list, a lost one may take 1.5 s to be listed:
the defaults, 5 s and 30 s, divided by 10 and 20);
the bound counts every call made, the retries and the sends again included.

    python bench/submit_pipeline.py
    python bench/submit_pipeline.py --faults
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from batch.sandbox.app import Faults, SandboxConfig
from batch.sandbox.server import RunningSandbox

ROWS, FILES, SPEED = int(__import__("os").environ.get("BENCH_ROWS", 1000)), 300, 50
FAULTY = {"rows": 600, "files": 200, "speed": 20}
FAULTS = Faults(latency_ms=(20, 200), fail_rate=0.03, throttle_rate=0.02, accept_timeout_rate=0.02)
# Infobip-time settings, divided by the speed (a faulty run's, at --speed 20).
SCALED = "look_after = 0.5\nreconcile_grace = 1.5\nsubmit_deadline = 10.0\n"
TARGET = 1.10


def write_input(folder: Path, rows: int = ROWS, files: int = FILES) -> Path:
    documents = folder / "documents"
    documents.mkdir()
    for i in range(files):
        (documents / f"registration-{i:03d}.pdf").write_bytes(
            f"%PDF-1.4 registration {i}\n".encode() + b"x" * 2000
        )
    path = folder / "numbers.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(COLUMNS)
        for i in range(rows):
            writer.writerow(purchase(f"BENCH-{i:04d}", i, f"registration-{i % files:03d}.pdf"))
    return path


# An HR number purchase: the columns, then one row's cells.
COLUMNS = [
    "reference",
    "type",
    "countryCode",
    "numberType",
    "capabilities",
    "quantity",
    "companyName",
    "useCase",
    "companyWebsite",
    "companyRegistrationDocument",
    "registrationConsent",
]


def purchase(reference: str, i: int, document: str) -> list[object]:
    return [
        reference,
        "NUMBER_PURCHASE",
        "HR",
        "VIRTUAL_LONG_NUMBER",
        "SMS",
        i % 49 + 1,
        f"Company {i:04d} d.o.o.",
        "Notifications",
        "https://example.hr",
        f"documents/{document}",
        "yes",
    ]


def main() -> None:
    faulty = "--faults" in sys.argv[1:]
    rows, files, speed = (
        (FAULTY["rows"], FAULTY["files"], FAULTY["speed"])
        if faulty
        else (
            ROWS,
            FILES,
            SPEED,
        )
    )
    faults = FAULTS if faulty else Faults(latency_ms=(20, 200))
    config = SandboxConfig(speed=speed, faults=faults)
    with tempfile.TemporaryDirectory() as folder, RunningSandbox(config) as sandbox:
        path = write_input(Path(folder), rows, files)
        rates = [f"submit={speed}", f"upload={speed}", f"lookup={10 * speed}", f"read={10 * speed}"]
        command = [
            sys.executable,
            "-m",
            "batch",
            "run",
            str(path),
            "--log-format",
            "json",
            "--quiet",
        ]
        for rate in rates:
            command += ["--limit", rate]
        if faulty:
            settings = Path(folder) / "config.toml"
            settings.write_text(SCALED, encoding="utf-8")
            command += ["--config", str(settings)]
        env = {
            "INFOBIP_BASE_URL": sandbox.base_url,
            "INFOBIP_API_KEY": sandbox.api_key,
            "PATH": "",
            "XDG_CACHE_HOME": folder,
            "RESOURCE_BATCH_STATE_DIR": folder,
        }
        began = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.monotonic() - began
        if done.returncode not in (0, 1):
            sys.exit(f"the run failed ({done.returncode}):\n{done.stderr[-3000:]}")
        with path.with_name("numbers.results.csv").open(encoding="utf-8-sig") as file:
            results = [row["result"] for row in csv.DictReader(file)]
        calls = json.loads(
            __import__("httpx")
            .get(f"{sandbox.base_url}/_sandbox/calls", headers=sandbox.headers)
            .text
        )["calls"]
        stored = len(
            __import__("httpx")
            .get(f"{sandbox.base_url}/_sandbox/requests", headers=sandbox.headers)
            .json()["results"]
        )
    made = {
        op: sum(c["count"] for c in calls if c["operation"] == op)
        for op in ("submit-resource-request", "upload-document", "get-resource-requests")
    }
    bound = max(made["submit-resource-request"] / speed, made["upload-document"] / speed)
    throttled = sum(c["count"] for c in calls if c["status"] == 429)
    failed = sum(c["count"] for c in calls if c["status"] == 500)
    unanswered = sum(c["count"] for c in calls if c["status"] == 0)
    print(
        f"rows {rows}, distinct files {files}, speed {speed}, latency 20-200 ms"
        + (", faults: 3% 500, 2% 429, 2% of submits stored unanswered" if faulty else "")
    )
    print(
        f"submitted {results.count('SUBMITTED')} of {len(results)}, stored {stored};"
        f" 429 answers {throttled}, 500 answers {failed}, unanswered {unanswered}"
    )
    print(
        f"calls made: submit {made['submit-resource-request']}, upload"
        f" {made['upload-document']}, list {made['get-resource-requests']}"
    )
    print(f"wall {wall:.1f} s, bound max(submits made/rate, uploads made/rate) = {bound:.1f} s")
    print(f"ratio {wall / bound:.3f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
