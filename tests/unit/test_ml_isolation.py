"""torch and SDV live in the ML worker only: the API and the sync worker never import them."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "sdv", "ctgan", "rdt", "copulas", "sdmetrics", "onnxruntime")


@pytest.mark.parametrize("module", ["services.api.server", "services.sync_worker.worker"])
def test_module_does_not_import_the_ml_stack(module: str) -> None:
    code = f"import sys, {module}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert loaded == ""
