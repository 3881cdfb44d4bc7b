"""The wheel as a user gets it: built from the tree, installed (not editable) in a fresh
venv with its dependencies from the package index, then the README's Quickstart command run
from that venv on a copy of the samples."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _quickstart_command() -> list[str]:
    """The Quickstart's command, after its install steps: `.venv/bin/resource-batch ...`."""
    quickstart = README.split("## Quickstart", 1)[1]
    block = re.search(r"```\n(.*?)```", quickstart, re.DOTALL)
    assert block, "README's Quickstart has a command block"
    return block.group(1).strip().split(" && ")[-1].split()


def _wheel(tmp_path: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w", str(tmp_path)],
        check=True,
        timeout=120,
    )
    (wheel,) = tmp_path.glob("resource_batch-*.whl")
    return wheel


def _check_contents(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        "batch/data/resources-openapi.normalized.json",
        "batch/data/resources-openapi.published.json",
        "batch/sandbox/data/catalogue.json",
    }
    attachments = {
        f"batch/sandbox/data/attachments/{p.name}"
        for p in (ROOT / "batch" / "sandbox" / "data" / "attachments").iterdir()
    }
    assert attachments and shipped | attachments <= names, sorted(names)
    assert not any(name.startswith(("tests/", "bench/", "samples/")) for name in names)
    (metadata,) = (n for n in names if n.endswith(".dist-info/METADATA"))
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: MIT" in text
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)


@pytest.mark.timeout(300)
def test_wheel_installs_and_runs_the_quickstart(tmp_path: Path) -> None:
    """The built wheel carries its data files and licence; installed alone in a new venv it
    runs the README's Quickstart command on the samples: exit 1 (five rows are wrong on
    purpose) with the results sheet written, from the venv's copy, not this tree."""
    started = time.monotonic()
    wheel = _wheel(tmp_path / "dist")
    _check_contents(wheel)
    work = tmp_path / "work"
    env_dir = work / ".venv"  # where the README's relative command finds it
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True, timeout=240)
    shutil.copytree(ROOT / "samples", work / "samples")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    where = subprocess.run(
        [str(python), "-c", "import batch; print(batch.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(env_dir), where.stdout
    command = _quickstart_command()
    assert command[:3] == [".venv/bin/resource-batch", "run", "samples/requests.xlsx"]
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert (work / "samples" / "requests.results.xlsx").stat().st_size > 0
    assert "SUBMITTED 37, INVALID 5" in done.stdout + done.stderr
    print(f"wheel built, installed and run in {time.monotonic() - started:.0f} s")
