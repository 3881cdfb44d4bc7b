"""The command line as a whole: every command's help, `python -m batch`, and every command
working where POSIX-only modules (fcntl, grp, pwd) do not exist, as on Windows."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from batch.cli import main
from tests.conftest import FAST
from tests.test_run import toll_free

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str):
    return CliRunner().invoke(main, list(args))


def test_every_command_has_help() -> None:
    """Each command documents itself in --help."""
    result = run("--help")
    assert result.exit_code == 0
    for name, command in main.commands.items():
        assert command.help, name
        assert run(name, "--help").exit_code == 0


def test_python_dash_m_batch() -> None:
    """`python -m batch` is the same command line."""
    done = subprocess.run(
        [sys.executable, "-m", "batch", "--help"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert "sandbox" in done.stdout


POSIX_ONLY = ("fcntl", "grp", "pwd")
# Run first in each child, as on Windows: the POSIX-only modules cannot be imported.
WINDOWS_LIKE = f"""
import sys
for name in {POSIX_ONLY!r}:
    sys.modules[name] = None  # `import name` now raises ImportError
"""


def test_the_package_imports_no_posix_only_module() -> None:
    """No module of batch/ (the sandbox and webhook included) imports fcntl, grp or pwd,
    which Windows lacks."""
    for path in sorted((ROOT / "batch").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            else:
                continue
            assert not {n.partition(".")[0] for n in names} & set(POSIX_ONLY), path


def test_commands_work_without_posix_only_modules(batch, tmp_path: Path) -> None:
    """--help, validate, run and status, each in a process where fcntl, grp and pwd cannot
    be imported (as on Windows), do their work against the sandbox."""
    (site := tmp_path / "site").mkdir()
    (site / "sitecustomize.py").write_text(WINDOWS_LIKE, encoding="utf-8")
    path = batch.csv([toll_free()])
    state = ["--state-dir", str(tmp_path / "state")]
    paths = os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    env = {**os.environ, **batch.env, "PYTHONPATH": paths}

    def command(*args: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "batch", *args]
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        assert "Traceback" not in done.stderr, done.stderr
        return done

    blocked = command("--help")
    probe = [sys.executable, "-c", "import fcntl"]
    assert subprocess.run(probe, env=env, capture_output=True).returncode != 0
    assert blocked.returncode == 0 and "validate" in blocked.stdout
    assert command("validate", str(path), *state).returncode == 0
    assert [r["result"] for r in batch.results(results_of(path))] == ["VALID"]
    ran = command("run", str(path), *state, *FAST)
    assert ran.returncode == 0, ran.stderr
    assert [r["result"] for r in batch.results(results_of(path))] == ["SUBMITTED"]
    assert len(batch.api.stored()) == 1
    status = command("status", str(results_of(path)), *state)
    assert status.returncode == 0, status.stderr
    assert [r["requestStatus"] for r in batch.results(results_of(path))] == ["PENDING"]


def results_of(path: Path) -> Path:
    return path.with_name(f"{path.stem}.results.csv")
