"""The protos stay lint-clean and sdk/python/gen/ is exactly what `make proto` would write."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _buf_env() -> dict[str, str]:
    # buf runs proto/protoc.sh (`python`) and the protoc-gen-mypy plugins by name, so the
    # interpreter's bin directory must come first for the pinned generators to be the ones used.
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}


def _buf() -> str:
    found = shutil.which("buf", path=str(BIN)) or shutil.which("buf")
    if found is None:
        pytest.fail("buf not found; install the dev extras (buf-bin)")
    return found


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_buf(), *args], cwd=ROOT, env=_buf_env(), capture_output=True, text=True, timeout=120
    )


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_buf_lint() -> None:
    result = _run("lint")
    assert result.returncode == 0, f"buf lint failed:\n{result.stdout}{result.stderr}"


def test_generated_code_is_up_to_date(tmp_path: Path) -> None:
    # --output prefixes every out: path in buf.gen.yaml, so this writes tmp_path/sdk/python/gen.
    result = _run("generate", "--output", str(tmp_path))
    assert result.returncode == 0, f"buf generate failed:\n{result.stdout}{result.stderr}"
    generated = Path("sdk/python/gen")
    fresh, committed = _files(tmp_path / generated), _files(ROOT / generated)
    assert fresh, "buf generate wrote nothing"
    missing, extra = (
        sorted(fresh.keys() - committed.keys()),
        sorted(committed.keys() - fresh.keys()),
    )
    changed = sorted(
        name for name in fresh.keys() & committed.keys() if fresh[name] != committed[name]
    )
    assert not (missing or extra or changed), (
        f"{generated}/ is out of date; run `make proto` and commit the result.\n"
        f"not committed: {missing}\nnot generated: {extra}\ndiffering: {changed}"
    )
