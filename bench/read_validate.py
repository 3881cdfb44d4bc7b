"""Benchmark 2: does reading and checking a big workbook cost much more than reading it?

A 100,000-row .xlsx of HR number purchases (every requirement column filled, one shared
document) is read and validated with the requirements already cached and no network
(the client points at a closed port: a lookup would fail the run). Prints that time /
the time of `pandas.read_excel(path, engine="calamine", dtype=str)` alone (target
<= 1.5), and the peak memory of each: medians of five runs each, interleaved, each in a
fresh process.

    python bench/read_validate.py [ROWS]
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

TARGET = 1.5
RUNS = 5  # each side, each in a fresh process; medians compared
HEADERS = [
    "reference", "countryCode", "numberType", "capabilities", "quantity", "companyName",
    "vatNumber", "useCase", "expectedMonthlyMessages", "companyEmailAddresses",
    "companyWebsite", "contactPhoneNumber", "companyRegistrationDocument", "registrationConsent",
]  # fmt: skip
LOOKUP_ROW = ["R", "HR", "VIRTUAL_LONG_NUMBER", "SMS", 1]


def write_workbook(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("NUMBER_PURCHASE")
    sheet.append(HEADERS)
    for i in range(rows):
        sheet.append([
            f"BENCH-{i:06d}", "HR", "VIRTUAL_LONG_NUMBER", "SMS, VOICE", i % 49 + 1,
            f"Company {i:06d} d.o.o.", f"HR{10000000000 + i}", "Notifications", 50000 + i,
            "contact@example.hr; info@example.hr", "https://example.hr", 385911234567,
            "documents/registration.pdf", "yes",
        ])  # fmt: skip
    book.save(path)


def measure_pandas(path: str, rows: int) -> dict[str, float]:
    import pandas

    began = time.perf_counter()
    frame = pandas.read_excel(path, engine="calamine", dtype=str)
    seconds = time.perf_counter() - began
    assert len(frame) == rows
    return {
        "seconds": seconds,
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_ours(path: str, rows: int) -> dict[str, float]:
    from batch.api import Infobip
    from batch.config import Settings

    # The account the cache was warmed for; port 9 is closed, so any lookup would fail.
    settings = Settings(base_url=os.environ["BENCH_BASE_URL"], api_key="bench-key", dry_run=True)
    closed = Settings(base_url="http://127.0.0.1:9", api_key="bench-key")

    from batch.accounts import Clients
    from batch.run import Examined, examine

    async def check() -> Examined:
        async with Infobip(closed.base_url, closed.api_key, limits=closed.limits) as api:
            clients = Clients({}, given={"": api})
            return await examine(
                settings, clients, Path(path), output=Path(path).with_suffix(".results.xlsx")
            )

    began = time.perf_counter()
    found = asyncio.run(check())  # kept until timed, as pandas' frame is: freeing is not reading
    seconds = time.perf_counter() - began
    assert len(found.ready) == rows, f"{rows - len(found.ready)} rows found invalid or duplicate"
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak}


def in_fresh_process(
    which: str, path: Path, rows: int, env: dict[str, str], *, module: str = "read_validate"
) -> dict[str, float]:
    """`module.measure_<which>(path, rows)` run in a new interpreter, its result."""
    here = str(Path(__file__).parent)
    code = (
        f"import sys, json; sys.path.insert(0, {here!r}); import {module} as b;"
        f" print(json.dumps(b.measure_{which}({str(path)!r}, {rows})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        sys.exit(f"{which} failed:\n{done.stderr[-3000:]}")
    result: dict[str, float] = json.loads(done.stdout.splitlines()[-1])
    return result


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as folder:
        path = prepare(Path(folder), rows, write_workbook, len(HEADERS))
        env = dict(os.environ)
        # Interleaved, so that a busy spell on the machine slows both sides alike.
        pairs = [
            (in_fresh_process("pandas", path, rows, env), in_fresh_process("ours", path, rows, env))
            for _ in range(RUNS)
        ]
    pandas_runs, our_runs = zip(*pairs, strict=True)
    pandas_s = statistics.median(r["seconds"] for r in pandas_runs)
    ours_s = statistics.median(r["seconds"] for r in our_runs)
    print(
        "pandas.read_excel(calamine, dtype=str):"
        f" median {pandas_s:.2f} s, peak {pandas_runs[0]['peak_mb']:.0f} MB"
    )
    print(
        "read + validate (cached requirements, no network):"
        f" median {ours_s:.2f} s, peak {our_runs[0]['peak_mb']:.0f} MB"
    )
    print(f"ratio {ours_s / pandas_s:.2f} (target <= {TARGET})")


def prepare(base: Path, rows: int, write: Callable[[Path, int], None], columns: int) -> Path:
    """The benchmark's workbook in `base`, its document, and the requirements cache warmed
    for the account the runs use (`BENCH_BASE_URL`, set here)."""
    os.environ["XDG_CACHE_HOME"] = str(base / "cache")
    (base / "documents").mkdir()
    (base / "documents" / "registration.pdf").write_bytes(b"%PDF-1.4 registration")
    path = base / "numbers.xlsx"
    began = time.perf_counter()
    write(path, rows)
    print(f"wrote {rows} rows x {columns} columns in {time.perf_counter() - began:.1f} s")
    from batch.sandbox.server import base_url, listen

    # The cache is per account (base URL + key): warm it for a fixed loopback URL.
    sock = listen("127.0.0.1", 0)
    url = base_url(sock)
    sock.close()
    os.environ["BENCH_BASE_URL"] = url
    warm_for(base, url)
    return path


def warm_for(folder: Path, url: str) -> None:
    """Warm the cache for `url` by serving a sandbox on exactly that address."""
    from openpyxl import Workbook

    from batch.sandbox.app import SandboxConfig
    from batch.sandbox.server import RunningSandbox

    host, port = url.removeprefix("http://").split(":")
    small = folder / "warm.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.title = "NUMBER_PURCHASE"
    sheet.append(HEADERS[:5])
    for quantity in range(1, 50):
        sheet.append([f"W{quantity}", "HR", "VIRTUAL_LONG_NUMBER", "SMS, VOICE", quantity])
    book.save(small)
    with RunningSandbox(SandboxConfig(rate_limits=False, api_key="bench-key"), port=int(port)):
        env = {**os.environ, "INFOBIP_BASE_URL": url, "INFOBIP_API_KEY": "bench-key"}
        command = [sys.executable, "-m", "batch", "validate", str(small), "--quiet"]
        subprocess.run(command, env=env, check=False, capture_output=True)


if __name__ == "__main__":
    main()
