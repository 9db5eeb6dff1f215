"""C extensions of the engine's hot loops, compiled on first use into the environment
(`sys.prefix`) with the C compiler and Python's headers, and loaded once per process. Each has
a path beside it that gives the same results (NumPy's keyed hash, psycopg's row loop, rows as
CSV): where the compiler or headers are missing, or the build fails, the caller takes it."""

import functools
import hashlib
import importlib.machinery
import importlib.util
import logging
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path
from types import ModuleType

_log = logging.getLogger(__name__)

# What a build or load can fail with; callers catch these and fall back.
BUILD_ERRORS = (OSError, ImportError, AttributeError, LookupError, subprocess.SubprocessError)


def extension(source: Path) -> ModuleType:
    """The module compiled from the C file `source` (its name without `.c` is the module's),
    built unless this source and Python already have one. Raises one of BUILD_ERRORS."""
    name = source.stem
    spec = importlib.util.spec_from_file_location(name, _build(source))
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source.name}'s build")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _build(source: Path) -> Path:
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    digest = hashlib.sha256(source.read_bytes() + sys.version.encode()).hexdigest()[:16]
    target = Path(sys.prefix, "veilsync-build", f"{source.stem}-{digest}{suffix}")
    if target.exists():
        return target
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        raise LookupError("no C compiler")
    target.parent.mkdir(parents=True, exist_ok=True)
    # Each process builds its own file and renames it into place: a race costs a build.
    partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
    include = sysconfig.get_paths()["include"]
    command = [compiler, "-O2", "-shared", "-fPIC", f"-I{include}", str(source), "-o"]
    try:
        subprocess.run(
            [*command, str(partial)], check=True, capture_output=True, text=True, timeout=120
        )
        os.replace(partial, target)
    except subprocess.CalledProcessError as err:
        raise subprocess.SubprocessError(f"{compiler} failed: {err.stderr.strip()}") from err
    finally:
        partial.unlink(missing_ok=True)  # left by a failed or timed-out build
    return target


@functools.cache
def optional(source: Path, fallback: str) -> ModuleType | None:
    """`extension(source)`, or None (logged once per process, saying why) when it cannot be
    built or loaded here and the caller's `fallback` path serves instead."""
    try:
        return extension(source)
    except BUILD_ERRORS as err:
        _log.warning("compiled %s unavailable, %s: %s", source.name, fallback, err)
        return None


def build_all() -> list[Path]:
    """Every extension of the engine built (a deployment's image does this once, while it
    has a compiler); the files built."""
    return [_build(source) for source in sorted(Path(__file__).parent.rglob("_*.c"))]


if __name__ == "__main__":
    for built in build_all():
        print(built)
