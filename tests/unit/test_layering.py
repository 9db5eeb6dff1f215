"""Dependencies point down (DESIGN.md, Layout): cli → sdk/gen; api and workers → engine → common.

Every file is parsed, never imported, so an import hidden in a function body or behind
`if TYPE_CHECKING:` counts as much as one at the top of the module.
"""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

_WORKERS = ("services.sync_worker", "services.ml_worker")

# Folder (relative to the repository root) -> module prefixes no file under it may import.
RULES: dict[str, tuple[str, ...]] = {
    # A plain gRPC client; services.common is tolerated for now (settings, errors, ...).
    "services/cli": ("services.api", *_WORKERS, "services.engine"),
    "services/engine": (
        # Keyed outputs index word lists: read from Faker, its upgrades would change them.
        "faker",
        "temporalio",
        "services.common.store",
        "services.api",
        *_WORKERS,
        "services.cli",
    ),
    "services/sync_worker": ("services.api", "services.cli"),
    "services/ml_worker": ("services.api", "services.cli"),
    "services/common": ("services.api", *_WORKERS, "services.cli", "services.engine"),
    "services": ("tests",),
    "bench": ("tests",),
}


def imported_modules(source: str, path: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module) for every import in `source`, relative ones resolved via `path`.

    `from a.b import c` yields `a.b.c` as well as `a.b`, since `c` may be a submodule.
    """
    package = Path(path).parent.parts
    for node in ast.walk(ast.parse(source, filename=path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else ()
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module:
                yield node.lineno, module
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{module}.{alias.name}" if module else alias.name


def _matches(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def forbidden_imports(source: str, path: str, forbidden: tuple[str, ...]) -> list[str]:
    """`path:line -> module` for each import in `source` under one of the `forbidden` prefixes."""
    found: dict[int, str] = {}
    for line, module in imported_modules(source, path):
        # The first (shortest) name on a line is the one worth reporting.
        if line not in found and any(_matches(module, prefix) for prefix in forbidden):
            found[line] = module
    return [f"{path}:{line} -> {module}" for line, module in sorted(found.items())]


@pytest.mark.parametrize(("folder", "forbidden"), RULES.items(), ids=list(RULES))
def test_imports_respect_the_layering(folder: str, forbidden: tuple[str, ...]) -> None:
    files = sorted(ROOT.joinpath(folder).rglob("*.py"))
    assert files, f"no Python files under {folder}/: the rule checks nothing"
    found = [
        violation
        for file in files
        for violation in forbidden_imports(
            file.read_text(encoding="utf-8"), file.relative_to(ROOT).as_posix(), forbidden
        )
    ]
    if found:
        pytest.fail(
            f"{folder}/ must not import {', '.join(forbidden)}; found:\n  " + "\n  ".join(found),
            pytrace=False,
        )


@pytest.mark.parametrize(
    ("source", "module"),
    [
        pytest.param("import temporalio\n", "temporalio", id="import"),
        pytest.param("import temporalio.workflow as wf\n", "temporalio.workflow", id="dotted"),
        pytest.param("from temporalio import activity\n", "temporalio", id="from"),
        pytest.param(
            "from services.common import store\n", "services.common.store", id="submodule"
        ),
        pytest.param("from ...sync_worker import worker\n", "services.sync_worker", id="relative"),
        pytest.param(
            "def f() -> None:\n    import services.api.server\n",
            "services.api.server",
            id="in-function",
        ),
        pytest.param(
            "from typing import TYPE_CHECKING\n"
            "if TYPE_CHECKING:\n"
            "    from services.cli import main\n",
            "services.cli",
            id="type-checking",
        ),
    ],
)
def test_the_checker_catches_a_forbidden_import(source: str, module: str) -> None:
    path = "services/engine/copy/x.py"
    line = source.count("\n")
    assert forbidden_imports(source, path, RULES["services/engine"]) == [
        f"{path}:{line} -> {module}"
    ]


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("import temporalio_extra\n", id="same-prefix-other-package"),
        pytest.param("from services.common import settings\n", id="common"),
        pytest.param("from services.common.storage import x\n", id="store-prefix-only"),
        pytest.param("from . import store\n", id="relative-sibling"),
    ],
)
def test_the_checker_allows_what_is_not_forbidden(source: str) -> None:
    assert forbidden_imports(source, "services/engine/x.py", RULES["services/engine"]) == []
