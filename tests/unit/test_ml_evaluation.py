"""How a trained model is measured: the holdout split, distance to closest record (DCR) checked
against SDMetrics' own implementation, and what DCR and quality say of models whose behaviour
is known: fresh draws from the table's distribution, copies of its rows, columns learned
without their relations."""

from typing import Any

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sdmetrics")

from sdmetrics.single_table.privacy.dcr_utils import calculate_dcr  # noqa: E402

from services.engine.schema import Column, Table, TypeFamily  # noqa: E402
from services.ml_worker.dcr import REFERENCE_ROWS, dcr_share, row_distances  # noqa: E402
from services.ml_worker.evaluation import (  # noqa: E402
    MEMORIZES_AT,
    Split,
    evaluate,
    holdout_rows,
    split,
)
from services.ml_worker.spec import TableSpec, build_spec  # noqa: E402
from tests.ml_known import QUALITY_FLOOR, CopyingModel, measurements  # noqa: E402

pytestmark = pytest.mark.ml

NUMERIC, CATEGORICAL = ["x", "y"], ["band"]


def _learned(frame: Any) -> Any:
    return frame[NUMERIC + CATEGORICAL]


def _split(seed: int = 7) -> Split:
    """Training and holdout rows in the proportions a training run uses (1600 and 400)."""
    return split(measurements(seed=seed), seed=1, model_id=f"model-{seed}")


def _spec() -> TableSpec:
    table = Table(
        "public",
        "measurements",
        (
            Column("id", "integer", TypeFamily.INTEGER, False),
            Column("x", "double precision", TypeFamily.NUMERIC, False),
            Column("y", "double precision", TypeFamily.NUMERIC, False),
            Column("band", "text", TypeFamily.TEXT, False),
        ),
        primary_key=("id",),
    )
    return build_spec(table, {"band": 2}, 2000, {})


class IndependentColumns:
    """Learns each column's values and none of the relations between them."""

    def __init__(self, rows: Any) -> None:
        self._rows = rows

    def sample(self, rows: int, seed: int) -> Any:
        rng = np.random.default_rng(seed)
        return pd.DataFrame(
            {
                name: self._rows[name].to_numpy()[rng.integers(0, len(self._rows), rows)]
                for name in self._rows
            }
        )

    def state(self) -> dict[str, Any]:
        return {}


@pytest.mark.parametrize(
    ("rows", "held"),
    [(1, 0), (3, 1), (10, 5), (59, 20), (150, 30), (2000, 400), (1_000_000, 5_000)],
)
def test_holdout_is_a_fifth_at_least_20_at_most_5000_never_over_half(rows: int, held: int) -> None:
    assert holdout_rows(rows) == held


def test_split_is_disjoint_complete_and_fixed_by_seed_and_model() -> None:
    frame = measurements(rows=150)
    first = split(frame, seed=3, model_id="a")
    assert len(first.training) == 120 and len(first.holdout) == 30
    ids = list(first.training["id"]) + list(first.holdout["id"])
    assert sorted(ids) == list(range(1, 151))
    again = split(frame, seed=3, model_id="a")  # a retried training holds out the same rows
    assert list(again.holdout["id"]) == list(first.holdout["id"])
    other = split(frame, seed=3, model_id="b")
    assert list(other.holdout["id"]) != list(first.holdout["id"])


def test_distances_are_sdmetrics_dcr() -> None:
    """The NumPy distances equal SDMetrics' calculate_dcr, the pandas reference, on numbers,
    timestamps, a constant column, categories, booleans and NULLs in each."""
    rng = np.random.default_rng(5)

    def frame(rows: int) -> Any:
        out = pd.DataFrame(
            {
                "amount": rng.normal(50, 20, rows),
                "when": pd.Timestamp("2024-01-01")
                + pd.to_timedelta(rng.integers(0, 10**6, rows), "s"),
                "flat": np.full(rows, 3.0),
                "kind": rng.choice(["a", "b", "c"], rows).astype(object),
                "paid": rng.random(rows) < 0.5,
            }
        )
        out.loc[rng.random(rows) < 0.1, "amount"] = np.nan
        out.loc[rng.random(rows) < 0.1, "when"] = pd.NaT
        out["kind"] = out["kind"].where(rng.random(rows) > 0.1, None)
        return out

    rows, reference = frame(60), frame(90)
    rows.loc[0, "flat"] = 4.0  # any difference on a constant column counts 1
    metadata = {
        "columns": {
            "amount": {"sdtype": "numerical"},
            "when": {"sdtype": "datetime"},
            "flat": {"sdtype": "numerical"},
            "kind": {"sdtype": "categorical"},
            "paid": {"sdtype": "boolean"},
        }
    }
    expected = calculate_dcr(dataset=rows, reference_dataset=reference, metadata=metadata)
    ours = row_distances(rows, reference, ["amount", "when", "flat"], ["kind", "paid"])
    np.testing.assert_allclose(ours, expected.to_numpy(), atol=1e-12)


def test_fresh_rows_score_half_though_the_holdout_is_a_quarter_of_the_training_rows() -> None:
    """Rows drawn from the table's distribution, not from its rows: closer to a training row
    four times in five by numbers alone, which the share corrects to about 0.5."""
    rows = _split()
    fresh = _learned(measurements(rows=1000, seed=99))
    share = dcr_share(fresh, rows.training, rows.holdout, NUMERIC, CATEGORICAL, seed=1)
    assert share.rows == 1000
    assert 0.4 <= share.share <= 0.6


def test_copies_of_training_rows_score_one_and_of_holdout_rows_zero() -> None:
    rows = _split()
    copies = CopyingModel(_learned(rows.training)).sample(1000, seed=2)
    held = CopyingModel(_learned(rows.holdout)).sample(1000, seed=2)
    assert dcr_share(copies, rows.training, rows.holdout, NUMERIC, CATEGORICAL, 1).share == 1.0
    assert dcr_share(held, rows.training, rows.holdout, NUMERIC, CATEGORICAL, 1).share == 0.0


def test_copies_are_found_beyond_the_bounded_sample() -> None:
    """10,000 training rows, twice the sample the distances are computed on: every copy is
    still found, as an exact match against all of them."""
    rows = split(measurements(rows=12_500), seed=1, model_id="big")
    assert len(rows.training) == 10_000 > REFERENCE_ROWS
    copies = CopyingModel(_learned(rows.training)).sample(1000, seed=2)
    assert dcr_share(copies, rows.training, rows.holdout, NUMERIC, CATEGORICAL, 1).share == 1.0


def test_ties_count_as_chance_would() -> None:
    """Categories only, every combination in both sets: each synthetic row is as close to a
    training row as to a holdout row, so copying tells nothing and the share is 0.5."""
    rows = _split()
    copies = CopyingModel(rows.training[["band"]]).sample(500, seed=2)
    share = dcr_share(copies, rows.training, rows.holdout, [], ["band"], seed=1)
    assert share.share == pytest.approx(0.5)


def test_rows_that_share_a_closest_record_count_once() -> None:
    """500 rows of a combination the table never holds (a high x in the low band) all land on
    the same real row: whichever set holds it, the share stays that of the fresh rows."""
    rows = _split()
    fresh = _learned(measurements(rows=500, seed=99))
    stray = pd.DataFrame({"x": [90.0] * 500, "y": [180.0] * 500, "band": ["low"] * 500})
    alone = dcr_share(fresh, rows.training, rows.holdout, NUMERIC, CATEGORICAL, 1).share
    mixed = pd.concat([fresh, stray], ignore_index=True)
    with_stray = dcr_share(mixed, rows.training, rows.holdout, NUMERIC, CATEGORICAL, 1).share
    assert abs(with_stray - alone) < 0.02


@pytest.mark.parametrize("table_rows", [2_000, 25_000])
@pytest.mark.parametrize("copied", [0.0, 0.3, 0.6, 0.9])
def test_the_share_rises_with_the_rows_copied_whatever_the_table_size(
    copied: float, table_rows: int
) -> None:
    """Copies mixed with fresh rows: about 0.5 + copied / 2, whether the copies are found in
    the sample the distances use (2,000 rows) or beyond it (25,000); flagged from 0.8."""
    rows = split(measurements(rows=table_rows), seed=1, model_id="mix")
    count = int(1000 * copied)
    copies = CopyingModel(_learned(rows.training)).sample(count, seed=2)
    fresh = _learned(measurements(rows=1000 - count, seed=99))
    mixed = pd.concat([copies, fresh], ignore_index=True)
    share = dcr_share(mixed, rows.training, rows.holdout, NUMERIC, CATEGORICAL, 1).share
    assert share == pytest.approx(0.5 + copied / 2, abs=0.05)
    if copied != 0.6:  # 0.8 give or take: on the flag's edge
        assert (share >= MEMORIZES_AT) is (copied > 0.6)


def test_the_quality_floor_needs_the_relations_and_a_copier_is_flagged() -> None:
    """Quality on the holdout: real rows (a copier's) clear the floor, a model that learns each
    column but not y = 2x nor the band cut does not; only the copier memorizes."""
    rows, spec = _split(), _spec()
    blind_quality, blind = evaluate(IndependentColumns(_learned(rows.training)), rows, spec, 1)
    copier_quality, copier = evaluate(CopyingModel(_learned(rows.training)), rows, spec, 1)
    assert blind.holdout_rows == copier.holdout_rows == 400
    assert blind.quality_score < QUALITY_FLOOR <= copier.quality_score
    assert blind.quality_score == blind_quality.overall_score
    assert {s.column for s in copier_quality.column_shapes} == {"x", "y", "band"}
    assert not blind.memorizes
    assert copier.memorizes and copier.dcr_share == 1.0 and copier.dcr_rows == 1000


def test_a_table_too_small_to_split_is_not_measured() -> None:
    rows = split(measurements(rows=1), seed=1, model_id="m")
    quality, evaluation = evaluate(CopyingModel(_learned(rows.training)), rows, _spec(), 1)
    assert len(rows.holdout) == 0 and evaluation.holdout_rows == 0
    assert evaluation.quality_score == 0 and evaluation.dcr_rows == 0
    assert not quality.column_shapes
