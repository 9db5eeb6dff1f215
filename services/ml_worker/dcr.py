"""Distance to closest record (DCR): whether synthetic rows sit closer to the rows a model was
trained on than to real rows it never saw. A model that generalizes draws rows no closer to
its training rows than to unseen ones (a share near 0.5); one that copies them lands on them
(near 1).

The distance is SDMetrics' (sdmetrics.single_table.privacy.dcr_utils), vectorized in NumPy:
per column, numbers and timestamps count their absolute difference over the real rows' range,
capped at 1 (any difference counts 1 when the range is 0); categories and booleans count 0 when
equal and 1 when not; NULL is equal to NULL and 1 away from any value; the row's distance is
the mean over columns. Pure: no model, no database."""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

SYNTHETIC_ROWS = 1_000  # synthetic rows measured
REFERENCE_ROWS = 5_000  # real rows compared with, per side
# Cells of one synthetic-by-reference distance block: 16 MB of float64.
_BLOCK_CELLS = 2_000_000
# Distances this close are a tie: the same row summed in the same order is exactly equal, and
# anything nearer than this is float noise, not one set being closer.
_TIE = 1e-12


@dataclass(frozen=True)
class DcrResult:
    share: float  # 0 to 1; 0.5 is as close to unseen rows as to training rows
    rows: int  # synthetic rows measured; 0 when nothing could be measured


@dataclass(frozen=True)
class _Encoded:
    """Columns as arrays: numbers scaled by the real range, categories as shared codes."""

    numbers: np.ndarray  # float64 (rows, numeric columns), NaN for NULL
    constant: np.ndarray  # bool (numeric columns,): range 0, any difference counts 1
    codes: np.ndarray  # int64 (rows, categorical columns), -1 for NULL


def dcr_share(
    synthetic: pd.DataFrame,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    seed: int,
) -> DcrResult:
    """The share of synthetic rows closer to a training row than to a holdout row, made fair in
    three ways:

    - The sets differ in size (a holdout is a fifth of the rows), and the larger a set, the
      likelier it holds the closest row by chance alone: each set's count is divided by its
      size, so rows as close to either set score 0.5 whatever the split, and copies still 1.
      A tie counts for each set by its size, as chance would.
    - Synthetic rows that share one closest record count once. A model that samples
      combinations the table never holds (a category with the wrong range of a number) sends
      hundreds of rows to the same few real rows at the edge of a range; whether those few were
      held out would swing the share by 0.25 with no bearing on memorization. A copying model
      gives each copy its own closest record, its source, so it still scores 1.
    - Exact copies are looked up in every row of both sets (by hash), and only the other rows'
      closest records in bounded samples: a sample alone would miss copies of the rows it left
      out, and a model copying a 50,000-row table would score 0.56."""
    if not (numeric or categorical) or synthetic.empty or training.empty or holdout.empty:
        return DcrResult(0.0, 0)
    rng = np.random.default_rng(seed & 0xFFFF_FFFF_FFFF_FFFF)
    synthetic = _bounded(synthetic, SYNTHETIC_ROWS, rng)
    keys = _row_keys(synthetic, numeric, categorical)
    in_training = np.isin(keys, _row_keys(training, numeric, categorical))
    in_holdout = np.isin(keys, _row_keys(holdout, numeric, categorical))
    exact = in_training | in_holdout
    parts = [_copies(keys[exact], in_training[exact], in_holdout[exact], training, holdout)]
    if not exact.all():
        parts.append(
            _nearest(
                synthetic[~exact],
                _bounded(training, REFERENCE_ROWS, rng),
                _bounded(holdout, REFERENCE_ROWS, rng),
                numeric,
                categorical,
            )
        )
    # Each part's share weighs its records by the sizes of the sets they were compared with;
    # the parts are then weighed by their records, so copies found among 50,000 training rows
    # count as much as rows whose closest record was found among 5,000.
    shares = [(_share(p), p.records) for p in parts if p.records]
    share = sum(value * records for value, records in shares) / sum(r for _, r in shares)
    return DcrResult(float(share), len(synthetic))


def _share(verdicts: "_Verdicts") -> float:
    nearer = verdicts.nearer[verdicts.counted]
    per_training_row = nearer.sum() / verdicts.training_rows
    per_holdout_row = (1.0 - nearer).sum() / verdicts.holdout_rows
    return float(per_training_row / (per_training_row + per_holdout_row))


@dataclass(frozen=True)
class _Verdicts:
    """Per synthetic row, which set holds its closest record, among how many rows."""

    nearer: np.ndarray  # 1: a training row; 0: a holdout row; a tie: the training side's chance
    counted: np.ndarray  # the rows counted: the first of those sharing a closest record
    training_rows: int  # the training and holdout rows compared with
    holdout_rows: int

    @property
    def records(self) -> int:
        return len(self.counted)


def _verdicts(
    nearer: np.ndarray, record: np.ndarray, training_rows: int, holdout_rows: int
) -> _Verdicts:
    _, counted = np.unique(record, axis=0, return_index=True)
    return _Verdicts(nearer, counted, training_rows, holdout_rows)


def _copies(
    keys: np.ndarray,
    in_training: np.ndarray,
    in_holdout: np.ndarray,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
) -> _Verdicts:
    """Rows equal to a real row: at distance 0 from it, compared with every row of both sets."""
    chance = len(training) / (len(training) + len(holdout))
    nearer = np.where(in_holdout, np.where(in_training, chance, 0.0), 1.0)
    return _verdicts(nearer, keys.reshape(-1, 1), len(training), len(holdout))


def _nearest(
    synthetic: pd.DataFrame,
    training: pd.DataFrame,
    holdout: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
) -> _Verdicts:
    """Rows equal to no real row: their closest records in the (sampled) sets."""
    frames = [synthetic, training, holdout]
    encoded = _encode(frames, list(numeric), list(categorical), reference=[1, 2])
    to_training = _closest(encoded[0], encoded[1])
    to_holdout = _closest(encoded[0], encoded[2])
    training_nearer = to_training.distance < to_holdout.distance - _TIE
    holdout_nearer = to_holdout.distance < to_training.distance - _TIE
    chance = len(training) / (len(training) + len(holdout))
    nearer = np.where(training_nearer, 1.0, np.where(holdout_nearer, 0.0, chance))
    record = np.column_stack(
        [
            np.where(holdout_nearer, -1, to_training.index),
            np.where(training_nearer, -1, to_holdout.index),
        ]
    )
    return _verdicts(nearer, record, len(training), len(holdout))


def row_distances(
    rows: pd.DataFrame,
    reference: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
) -> np.ndarray:
    """Each row's distance to its closest reference row, numbers scaled by the reference's
    range: the quantity SDMetrics' calculate_dcr computes."""
    encoded = _encode([rows, reference], list(numeric), list(categorical), reference=[1])
    return _closest(encoded[0], encoded[1]).distance


@dataclass(frozen=True)
class _Closest:
    distance: np.ndarray  # each row's mean per-column distance to its closest reference row
    index: np.ndarray  # that reference row's position


def _closest(rows: _Encoded, reference: _Encoded) -> _Closest:
    """Computed in blocks of rows, so memory stays bounded whatever the reference's size."""
    columns = rows.numbers.shape[1] + rows.codes.shape[1]
    count, size = rows.numbers.shape[0], reference.numbers.shape[0]
    step = max(1, _BLOCK_CELLS // max(size, 1))
    distance, index = np.empty(count), np.empty(count, dtype=np.int64)
    for start in range(0, count, step):
        stop = min(start + step, count)
        total = np.zeros((stop - start, size))
        for j in range(rows.numbers.shape[1]):
            total += _numeric_distance(
                rows.numbers[start:stop, j], reference.numbers[:, j], bool(rows.constant[j])
            )
        for j in range(rows.codes.shape[1]):
            total += rows.codes[start:stop, j, None] != reference.codes[None, :, j]
        index[start:stop] = total.argmin(axis=1)
        distance[start:stop] = total[np.arange(stop - start), index[start:stop]] / columns
    return _Closest(distance, index)


def _numeric_distance(a: np.ndarray, b: np.ndarray, constant: bool) -> np.ndarray:
    diff = np.abs(a[:, None] - b[None, :])
    scaled = (diff > 0).astype(float) if constant else np.minimum(diff, 1.0)
    missing_a, missing_b = np.isnan(a)[:, None], np.isnan(b)[None, :]
    # NaN compares false above; a NULL is 1 away from a value and 0 from another NULL.
    distance: np.ndarray = np.where(
        missing_a | missing_b, (missing_a != missing_b).astype(float), scaled
    )
    return distance


def _encode(
    frames: list[pd.DataFrame], numeric: list[str], categorical: list[str], reference: list[int]
) -> list[_Encoded]:
    """All frames on one scale: ranges from the reference frames, category codes shared."""
    raw = [
        np.column_stack([_numbers(f[c]) for c in numeric]) if numeric else np.empty((len(f), 0))
        for f in frames
    ]
    real = np.concatenate([raw[i] for i in reference])
    present = ~np.isnan(real)
    # Not nanmin/nanmax: an all-NULL column would warn, and it is simply constant.
    low = np.where(present, real, np.inf).min(axis=0, initial=np.inf)
    high = np.where(present, real, -np.inf).max(axis=0, initial=-np.inf)
    spread = high - low
    constant = ~(spread > 0)  # all equal, or all NULL
    offset = np.where(np.isfinite(low), low, 0.0)
    scale = np.where(constant, 1.0, spread)
    codes = _codes(frames, categorical)
    return [
        _Encoded(numbers=(r - offset) / scale, constant=constant, codes=c)
        for r, c in zip(raw, codes, strict=True)
    ]


def _numbers(values: pd.Series) -> np.ndarray:
    """Numbers as float64 with NaN for NULL; timestamps as nanoseconds."""
    if pd.api.types.is_datetime64_any_dtype(values):
        stamps = pd.to_datetime(values)
        out: np.ndarray = stamps.to_numpy(dtype="datetime64[ns]").astype("int64").astype(float)
        out[stamps.isna().to_numpy()] = np.nan
        return out
    numbers = pd.to_numeric(values, errors="coerce").astype("Float64")
    floats: np.ndarray = numbers.to_numpy(dtype=float, na_value=np.nan)
    return floats


def _codes(frames: list[pd.DataFrame], categorical: list[str]) -> list[np.ndarray]:
    """Category codes shared by every frame, -1 for NULL. Values are compared as text, so a
    model that samples True or 1 where the table holds "True" or "1" still matches."""
    sizes = [len(f) for f in frames]
    columns = []
    for name in categorical:
        codes, _ = pd.factorize(_text(pd.concat([f[name] for f in frames], ignore_index=True)))
        columns.append(codes.astype(np.int64))  # NULL (None) is -1
    stacked = np.column_stack(columns) if columns else np.empty((sum(sizes), 0), np.int64)
    bounds = np.cumsum([0, *sizes])
    return [stacked[bounds[i] : bounds[i + 1]] for i in range(len(frames))]


def _row_keys(
    frame: pd.DataFrame, numeric: Sequence[str], categorical: Sequence[str]
) -> np.ndarray:
    """A 64-bit hash of each row's values, spelled alike whatever the dtype a model returns:
    numbers as float64, categories as text, NULL as NULL."""
    canonical = pd.DataFrame(
        {
            **{f"n{i}": _numbers(frame[c]) for i, c in enumerate(numeric)},
            **{f"c{i}": _text(frame[c]) for i, c in enumerate(categorical)},
        }
    )
    keys: np.ndarray = pd.util.hash_pandas_object(canonical, index=False).to_numpy(np.uint64)
    return keys


def _text(values: pd.Series) -> np.ndarray:
    spelled: np.ndarray = values.astype(str).to_numpy(dtype=object)
    spelled[values.isna().to_numpy()] = None
    return spelled


def _bounded(frame: pd.DataFrame, rows: int, rng: np.random.Generator) -> pd.DataFrame:
    if len(frame) <= rows:
        return frame.reset_index(drop=True)
    picks = np.sort(rng.choice(len(frame), rows, replace=False))
    return frame.iloc[picks].reset_index(drop=True)
