"""Benchmark 1: is a run as fast as Infobip's limits allow, whatever the response times?

1,000 HR number-purchase rows needing 300 distinct documents, against the sandbox at
--speed 50 (50 submits and 50 uploads per second) with 20-200 ms added to every
response. Prints wall time / max(rows / submit rate, files / upload rate); target <= 1.10.

    python bench/submit_pipeline.py
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
        writer.writerow(
            [
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
        )
        for i in range(rows):
            writer.writerow(
                [
                    f"BENCH-{i:04d}",
                    "NUMBER_PURCHASE",
                    "HR",
                    "VIRTUAL_LONG_NUMBER",
                    "SMS",
                    i % 49 + 1,
                    f"Company {i:04d} d.o.o.",
                    "Notifications",
                    "https://example.hr",
                    f"documents/registration-{i % files:03d}.pdf",
                    "yes",
                ]
            )
    return path


def main() -> None:
    config = SandboxConfig(speed=SPEED, faults=Faults(latency_ms=(20, 200)))
    with tempfile.TemporaryDirectory() as folder, RunningSandbox(config) as sandbox:
        path = write_input(Path(folder))
        rates = [f"submit={SPEED}", f"upload={SPEED}", f"lookup={10 * SPEED}", f"read={10 * SPEED}"]
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
        if done.returncode != 0:
            sys.exit(f"the run failed ({done.returncode}):\n{done.stderr[-3000:]}")
        with path.with_name("numbers.results.csv").open(encoding="utf-8-sig") as file:
            results = [row["result"] for row in csv.DictReader(file)]
        calls = json.loads(
            __import__("httpx")
            .get(f"{sandbox.base_url}/_sandbox/calls", headers=sandbox.headers)
            .text
        )["calls"]
    bound = max(ROWS / SPEED, FILES / SPEED)
    throttled = sum(c["count"] for c in calls if c["status"] == 429)
    print(f"rows {ROWS}, distinct files {FILES}, speed {SPEED}, latency 20-200 ms")
    print(f"submitted {results.count('SUBMITTED')} of {len(results)}; 429 answers: {throttled}")
    print(f"wall {wall:.1f} s, bound max(rows/submit, files/upload) = {bound:.1f} s")
    print(f"ratio {wall / bound:.3f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
