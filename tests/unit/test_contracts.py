"""The protos stay lint-clean and compatible with the last release, and every folder buf
generates (sdk/python/gen, sdk/typescript/src/gen, ...) is exactly what `make proto` would write."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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


def _generated_folders() -> list[str]:
    """Every `out:` of buf.gen.yaml: `make proto` cleans and rewrites each one."""
    config = yaml.safe_load((ROOT / "buf.gen.yaml").read_text())
    return sorted({plugin["out"] for plugin in config["plugins"]})


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One `buf generate` for all the folders; --output prefixes every out: path with it."""
    output = tmp_path_factory.mktemp("generated")
    result = _run("generate", "--output", str(output))
    assert result.returncode == 0, (
        "buf generate failed (protoc-gen-es comes from `npm ci` in sdk/typescript, which "
        f"`make test` and `make proto` run):\n{result.stdout}{result.stderr}"
    )
    return output


@pytest.mark.parametrize("generated", _generated_folders())
def test_generated_code_is_up_to_date(fresh: Path, generated: str) -> None:
    new, committed = _files(fresh / generated), _files(ROOT / generated)
    assert new, f"buf generate wrote nothing into {generated}"
    missing, extra = sorted(new.keys() - committed.keys()), sorted(committed.keys() - new.keys())
    changed = sorted(name for name in new.keys() & committed.keys() if new[name] != committed[name])
    assert not (missing or extra or changed), (
        f"{generated}/ is out of date; run `make proto` and commit the result.\n"
        f"not committed: {missing}\nnot generated: {extra}\ndiffering: {changed}"
    )


def _git(*args: str) -> str | None:
    result = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30)
    if result.returncode != 0:
        return None
    return result.stdout.strip() or None


def _last_release() -> tuple[str, str]:
    """The buf input the protos must stay compatible with, and what it is: the newest release
    tag (v*) behind HEAD; in a clone without tags, the previous commit."""
    tag = _git("describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", "HEAD")
    if tag is not None:
        return f".git#tag={tag}", f"the last release tag {tag}"
    parent = _git("rev-parse", "--verify", "--quiet", "HEAD~1")
    if parent is not None:
        return ".git#ref=HEAD~1", f"HEAD~1 ({parent[:12]}; this clone has no release tag v*)"
    pytest.fail("buf breaking has nothing to compare with: no release tag v* and no HEAD~1")


def test_buf_breaking_against_the_last_release() -> None:
    against, baseline = _last_release()
    result = _run("breaking", "--against", against)
    assert result.returncode == 0, (
        f"buf breaking against {baseline} ({against}) failed:\n{result.stdout}{result.stderr}"
    )
