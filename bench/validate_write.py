"""Benchmark 4: validating a big workbook and writing its marked-up results sheet, against
reading it.

A 50,000-row × 19-column .xlsx of HR number purchases (one row in a hundred with a bad
VAT number, so that cells are marked and noted) is validated as `resource-batch validate`
does it, requirements cached and no network, and its results workbook written: result
columns first, marked cells with notes, header notes, dropdowns, Summary and Guide.
Prints that time / the time python-calamine takes to read the same sheet (target
<= 3.0): medians of five runs each, interleaved, each in a fresh process.

    python bench/validate_write.py [ROWS]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from read_validate import in_fresh_process, prepare  # noqa: E402

TARGET = 3.0
RUNS = 5
HEADERS = [
    "reference", "countryCode", "numberType", "capabilities", "quantity", "companyName",
    "vatNumber", "useCase", "expectedMonthlyMessages", "companyEmailAddresses",
    "companyWebsite", "contactPhoneNumber", "companyRegistrationDocument", "registrationForm",
    "registrationConsent", "additionalContactEmails", "applicationId", "entityId", "notes",
]  # fmt: skip


def write_workbook(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("NUMBER_PURCHASE")
    sheet.append(HEADERS)
    for i in range(rows):
        vat = "HR1" if i % 100 == 7 else f"HR{10000000000 + i}"
        sheet.append([
            f"BENCH-{i:06d}", "HR", "VIRTUAL_LONG_NUMBER", "SMS, VOICE", i % 49 + 1,
            f"Company {i:06d} d.o.o.", vat, "Notifications", 50000 + i,
            "contact@example.hr; info@example.hr", "https://example.hr", "+385911234567",
            "documents/registration.pdf", "documents/registration.pdf", "yes",
            "ops@example.hr", f"app-{i % 7}", f"entity-{i % 3}", f"batch {i // 1000}",
        ])  # fmt: skip
    book.save(path)


def measure_calamine(path: str, rows: int) -> dict[str, float]:
    import python_calamine

    began = time.perf_counter()
    with python_calamine.CalamineWorkbook.from_path(path) as book:
        found = book.get_sheet_by_name("NUMBER_PURCHASE").to_python(skip_empty_area=False)
    seconds = time.perf_counter() - began
    assert len(found) == rows + 1
    return {"seconds": seconds}


def measure_ours(path: str, rows: int) -> dict[str, float]:
    from batch.config import Settings
    from batch.run import run

    # The account the cache was warmed for; nothing listens there now, so any lookup
    # would fail the run.
    settings = Settings(
        base_url=os.environ["BENCH_BASE_URL"],
        api_key="bench-key",
        dry_run=True,
        state_dir=Path(os.environ["BENCH_STATE"]),
    )
    output = Path(path).with_name("numbers.results.xlsx")
    began = time.perf_counter()
    report = asyncio.run(run(settings, Path(path), output=output))
    seconds = time.perf_counter() - began
    assert sum(report.results.values()) == rows, report.results
    assert report.results["INVALID"] == rows // 100, report.results
    return {"seconds": seconds, "written_mb": output.stat().st_size / 2**20}


def main() -> None:
    rows = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    with tempfile.TemporaryDirectory() as folder:
        os.environ["BENCH_STATE"] = str(Path(folder) / "state")
        path = prepare(Path(folder), rows, write_workbook, len(HEADERS))
        env = dict(os.environ)
        pairs = [
            (
                in_fresh_process("calamine", path, rows, env, module="validate_write"),
                in_fresh_process("ours", path, rows, env, module="validate_write"),
            )
            for _ in range(RUNS)
        ]
    bare_runs, our_runs = zip(*pairs, strict=True)
    bare = statistics.median(r["seconds"] for r in bare_runs)
    ours = statistics.median(r["seconds"] for r in our_runs)
    print(f"python-calamine read: median {bare:.2f} s")
    print(
        f"validate + marked-up results workbook ({our_runs[0]['written_mb']:.1f} MB):"
        f" median {ours:.2f} s"
    )
    print(f"ratio {ours / bare:.2f} (target <= {TARGET})")


if __name__ == "__main__":
    main()
