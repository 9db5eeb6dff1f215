"""The demo's PostgreSQL database names: one pair per data dir, so users never collide."""

from pathlib import Path

from services.cli.demo import database_names


def test_demo_databases_are_named_after_the_data_dir(tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    assert database_names(mine) == database_names(mine)
    assert database_names(mine) != database_names(theirs)
    # A relative path names the directory it resolves to.
    assert database_names(Path(".")) == database_names(Path.cwd())


def test_a_name_replaces_the_hash() -> None:
    assert database_names(Path(), "qa") == ("veilsync_demo_qa_src", "veilsync_demo_qa_dst")
