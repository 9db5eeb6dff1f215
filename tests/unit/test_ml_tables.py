"""Column conversions for models, pinned value by value (they once ran a lambda per row), and
the model file's sha256 and size, taken from the bytes written."""

import hashlib
from pathlib import Path

import pytest

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")
torch = pytest.importorskip("torch")

from services.common.model_files import ModelFiles  # noqa: E402
from services.common.object_store import LocalObjectStore  # noqa: E402
from services.engine.schema import Column, Table, TypeFamily  # noqa: E402
from services.ml_worker.artifacts import MODEL_FILE, ArtifactStore  # noqa: E402
from services.ml_worker.tables import arrow_batches, typed, whole_numbers  # noqa: E402

pytestmark = pytest.mark.ml


def _table(family: TypeFamily) -> Table:
    return Table("public", "t", (Column("v", "x", family, nullable=True),))


def test_booleans_read_words_in_any_case_and_only_none_as_missing() -> None:
    words = ["t", "TRUE", "Yes", "y", "On", "1", "f", "no", "", " t", None]
    flags = typed(pd.DataFrame({"v": pd.Series(words, dtype=object)}), _table(TypeFamily.BOOLEAN))
    assert str(flags["v"].dtype) == "boolean"
    assert flags["v"].tolist() == [True] * 6 + [False] * 4 + [pd.NA]
    # Not None, so not missing: NaN and numbers spelled "nan", "1.0" are false.
    odd = pd.Series([True, 1, 1.0, float("nan"), None], dtype=object)
    flags = typed(pd.DataFrame({"v": odd}), _table(TypeFamily.BOOLEAN))
    assert flags["v"].tolist() == [True, True, False, False, pd.NA]


def test_text_is_each_value_spelled_by_str_and_missing_values_as_null() -> None:
    values = ["a", None, float("nan"), 3, 2.5, pd.Timestamp("2024-01-01")]
    frame = pd.DataFrame({"v": pd.Series(values, index=range(4, 10), dtype=object)})
    (batch,) = arrow_batches(iter([frame]), _table(TypeFamily.TEXT))
    assert batch.column(0).type == pa.string()
    assert batch.column(0).to_pylist() == ["a", None, None, "3", "2.5", "2024-01-01 00:00:00"]


def test_whole_numbers_keep_integers_exact_to_int64s_ends_and_clip_floats_inside_them() -> None:
    ends = pd.Series([-(2**63), 2**63 - 1, 7], dtype="int64")
    assert whole_numbers(ends).tolist() == [-(2**63), 2**63 - 1, 7]
    assert whole_numbers(ends, (0, 5)).tolist() == [0, 5, 5]
    # 2.0**63 is past int64: a float clips to the largest whole number a float64 spells.
    floats = pd.Series([2.0**63, -1.6, None], dtype="float64")
    assert whole_numbers(floats).tolist() == [2**63 - 1024, -2, pd.NA]


def test_the_model_hash_and_size_are_those_of_the_file_written(tmp_path: Path) -> None:
    files = ModelFiles(LocalObjectStore(tmp_path))
    sha, size = ArtifactStore(files, torch.device("cpu")).save_model("a", "m", {"state": [1]})
    with files.reading(files.model_key("a", "m", MODEL_FILE)) as source:
        written = source.read()
    assert (sha, size) == (hashlib.sha256(written).hexdigest(), len(written))
