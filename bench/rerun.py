"""Benchmark 3: what does running a fully submitted file again cost?

10,000 HR number-purchase rows are validated (cold requirements cache), then run to the
end against a fast sandbox, then run again. Prints the submits the rerun sent (must be
0) and the rerun's wall time / the validation-only run's wall time.

    python bench/rerun.py [ROWS]
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from submit_pipeline import write_input

from batch.sandbox.app import SandboxConfig
from batch.sandbox.server import RunningSandbox

SPEED = 1000  # the sandbox's limits and lifecycle: the first run is setup, not measured


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    config = SandboxConfig(speed=SPEED, rate_limits=False)
    with tempfile.TemporaryDirectory() as folder, RunningSandbox(config) as sandbox:
        path = write_input(Path(folder), rows=rows, files=300)
        env = {
            "INFOBIP_BASE_URL": sandbox.base_url,
            "INFOBIP_API_KEY": sandbox.api_key,
            "PATH": os.environ.get("PATH", ""),
            "XDG_CACHE_HOME": folder,
            "RESOURCE_BATCH_STATE_DIR": folder,
        }
        limits = [f"--limit={name}={SPEED}" for name in ("submit", "upload", "lookup", "read")]

        def timed(command: str) -> float:
            began = time.monotonic()
            done = subprocess.run(
                [sys.executable, "-m", "batch", command, str(path), *limits, "--quiet"],
                env=env,
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                sys.exit(f"{command} failed ({done.returncode}):\n{done.stderr[-3000:]}")
            return time.monotonic() - began

        def submits() -> int:
            answer = httpx.get(f"{sandbox.base_url}/_sandbox/calls", headers=sandbox.headers)
            calls = answer.json()["calls"]
            return sum(c["count"] for c in calls if c["operation"] == "submit-resource-request")

        validation = timed("validate")
        first = timed("run")
        before = submits()
        again = timed("run")
        sent = submits() - before
    print(f"rows {rows}: validate {validation:.1f} s, first run {first:.1f} s")
    print(f"rerun {again:.1f} s, submits sent by the rerun: {sent} (must be 0)")
    print(f"ratio rerun / validate {again / validation:.2f}")
    if sent:
        sys.exit("the rerun submitted rows again")


if __name__ == "__main__":
    main()
