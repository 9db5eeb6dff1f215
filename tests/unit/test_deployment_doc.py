"""The production deployment guide names every setting a process reads, so an operator never
has to read settings.py to find one."""

from pathlib import Path

from services.common.settings import Settings

GUIDE = Path(__file__).parents[2] / "docs" / "deployment.md"


def test_guide_names_every_setting() -> None:
    text = GUIDE.read_text()
    missing = [name for name in Settings.model_fields if f"VEILSYNC_{name.upper()}" not in text]
    assert not missing, f"docs/deployment.md lacks {missing}"
