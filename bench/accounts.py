"""Benchmark: two Infobip accounts in one run, each at its own ceiling, side by side.

Two sandboxes (Infobip keeps accounts apart) at Infobip's real pace (--speed 1: 1 submit and
1 upload a second per account) with 20-200 ms added to every response; one sheet of number
purchases routed by its `account` column, ROWS rows and FILES distinct documents per
account. The bound is one account's: max(ROWS / submit rate, FILES / upload rate), since
the accounts run side by side (one after the other would take twice as long). Prints
wall time / bound (target <= 1.10), and each account's submits per second from its
sandbox's call log.

    python bench/accounts.py
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
from submit_pipeline import COLUMNS, purchase

from batch.sandbox.app import Faults, SandboxConfig
from batch.sandbox.server import RunningSandbox

ROWS, FILES = int(os.environ.get("BENCH_ROWS", 20)), 5
ACCOUNTS = ("north", "south")
TARGET = 1.10


def write_input(folder: Path) -> Path:
    documents = folder / "documents"
    documents.mkdir()
    path = folder / "numbers.csv"
    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["account", *COLUMNS])
        for name in ACCOUNTS:
            for i in range(FILES):
                scan = documents / f"{name}-{i}.pdf"
                scan.write_bytes(f"%PDF-1.4 {name} {i}\n".encode() + b"x" * 2000)
            for i in range(ROWS):
                writer.writerow([name, *purchase(f"{name}-{i:03d}", i, f"{name}-{i % FILES}.pdf")])
    return path


def main() -> None:
    faults = Faults(latency_ms=(20, 200))
    with tempfile.TemporaryDirectory() as folder, ExitStack() as stack:
        sandboxes = {
            name: stack.enter_context(
                RunningSandbox(SandboxConfig(api_key=f"{name}-key", faults=faults, seed=n))
            )
            for n, name in enumerate(ACCOUNTS)
        }
        config = Path(folder) / "config.toml"
        config.write_text(
            "".join(
                f'[accounts.{name}]\nbase_url = "{s.base_url}"\napi_key = "{s.api_key}"\n'
                for name, s in sandboxes.items()
            ),
            encoding="utf-8",
        )
        path = write_input(Path(folder))
        command = [sys.executable, "-m", "batch", "run", str(path), "--config", str(config)]
        command += ["--log-format", "json", "--quiet"]
        env = {"PATH": "", "XDG_CACHE_HOME": folder, "RESOURCE_BATCH_STATE_DIR": folder}
        began = time.monotonic()
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        wall = time.monotonic() - began
        if done.returncode != 0:
            sys.exit(f"the run failed ({done.returncode}):\n{done.stderr[-3000:]}")
        with path.with_name("numbers.results.csv").open(encoding="utf-8-sig") as file:
            results = [row["result"] for row in csv.DictReader(file)]
        logs = {
            name: httpx.get(f"{s.base_url}/_sandbox/calls", headers=s.headers).json()["log"]
            for name, s in sandboxes.items()
        }
    bound = max(ROWS, FILES)  # at 1 submit and 1 upload a second, per account
    print(
        f"{len(ACCOUNTS)} accounts, {ROWS} rows and {FILES} files each, speed 1, latency 20-200 ms"
    )
    print(f"submitted {results.count('SUBMITTED')} of {len(results)}")
    for name, log in logs.items():
        submits = sorted(c["at"] for c in log if c["operation"] == "submit-resource-request")
        refused = sum(c["status"] == 429 for c in log)
        span = submits[-1] - submits[0] if len(submits) > 1 else 0.0
        pace = (len(submits) - 1) / span if span else 0.0
        print(
            f"  {name}: {len(submits)} submits over {span:.1f} s ({pace:.2f}/s), 429 answers:"
            f" {refused}"
        )
    print(f"wall {wall:.1f} s, bound (one account's) max(rows/submit, files/upload) = {bound} s")
    print(f"ratio {wall / bound:.3f} (target <= {TARGET}); one account after the other: 2.0")


if __name__ == "__main__":
    main()
