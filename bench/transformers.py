"""Values per second of every built-in transformer on a column of 1M values fed in the
pipeline's batches, next to a per-value keyed hash (BLAKE2b with the same key, one call per
value in a Python loop, Arrow to Python and back per batch: the plain way to pseudonymize a
column in Python), in the same process.

    .venv/bin/python -m bench.transformers [--rows N] [--batch N] [--repeat N] [--only ...]

Both sides see the same batches (default: the rows of one BATCH_BYTES block of ~100-byte rows,
what a sync hands a transformer), are warmed on a first batch outside the clock, and report
the best of --repeat passes, the pass least disturbed by other load on a shared machine. The
ratio is ours / the keyed hash on the same column.
"""

import argparse
import hashlib
import time
from collections.abc import Callable

import pyarrow as pa

from services.engine.connectors.base import BATCH_BYTES
from services.engine.transformers import ColumnBounds, Transformer, build_transformer
from services.engine.transformers.builtin import CATALOG
from veilsync.v1 import transformer_pb2 as t

KEY = b"benchmark-key-0123456789"
TARGETS = {"transform_email": 1e6, "transform_first_name": 1e6, "transform_hash": 1e6}
OPTIONS = {
    "generate_categorical": t.GenerateCategorical(categories=["red", "green", "blue"]),
    "transform_int64": t.TransformInt64(randomization_range_min=-5, randomization_range_max=5),
    "transform_float64": t.TransformFloat64(randomization_range_min=-1, randomization_range_max=1),
    "transform_character_scramble": t.TransformCharacterScramble(regex="[0-9]+"),
    "transform_expression": t.TransformExpression(code='upper(value[:1]) + "***"'),
}
BOUNDS = {"transform_float64": ColumnBounds.of("numeric(12,2)")}
# No per-value work to measure: the column is passed on, written NULL or left to its default.
NO_WORK = {"passthrough", "null", "generate_default"}


def inputs(name: str, rows: int) -> pa.Array:
    """A column shaped like what the transformer meets in PostgreSQL's text form."""
    numbers = pa.array(range(1, rows + 1), pa.int64()).cast(pa.string())
    if name in ("transform_int64", "transform_scramble_identity"):
        return numbers
    if name == "transform_float64":
        return pa.array([f"{i / 100:.2f}" for i in range(rows)], pa.string())
    if name == "transform_int64_phone_number":
        return pa.array([5_550_000_000 + i for i in range(rows)], pa.int64()).cast(pa.string())
    if name in ("transform_phone_number", "transform_e164_phone_number"):
        return pa.array([f"+1555{i:07d}" for i in range(rows)], pa.string())
    if name == "transform_uuid":
        return pa.array([f"00000000-0000-4000-8000-{i:012x}" for i in range(rows)], pa.string())
    if name in ("transform_first_name", "transform_last_name", "transform_full_name"):
        names = ["Ann", "Bob", "Carol", "Dmitri", "Eve"]
        return pa.array([f"{names[i % 5]}{i}" for i in range(rows)], pa.string())
    return pa.array([f"user{i}@corp.test" for i in range(rows)], pa.string())


def keyed_hash(column: pa.Array) -> pa.Array:
    """The baseline: one keyed BLAKE2b per value, hex text out, NULL kept."""
    return pa.array(
        [
            None if v is None else hashlib.blake2b(v.encode(), key=KEY, digest_size=16).hexdigest()
            for v in column.to_pylist()
        ],
        pa.string(),
    )


def per_second(
    transform: Callable[[pa.Array], object], batches: list[pa.Array], repeat: int
) -> float:
    """Values per second over every batch, the best of `repeat` passes; word lists and caches
    are built on a first batch outside the clock."""
    transform(batches[0])
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for batch in batches:
            transform(batch)
        best = min(best, time.perf_counter() - start)
    return sum(len(b) for b in batches) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=BATCH_BYTES // 100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    print(f"{args.rows:,} values in batches of {args.batch:,}, best of {args.repeat}")
    print(f"{'transformer':32} {'values/s':>12} {'keyed hash/s':>13} {'ratio':>8}")
    missed = []
    for name in sorted(args.only or set(CATALOG) - NO_WORK):
        config = t.TransformerConfig()
        getattr(config, name).SetInParent()
        if name in OPTIONS:
            getattr(config, name).CopyFrom(OPTIONS[name])
        transformer: Transformer = build_transformer(config, KEY, bounds=BOUNDS.get(name))
        column = inputs(name, args.rows)
        batches = [column[i : i + args.batch] for i in range(0, len(column), args.batch)]
        ours = per_second(transformer.transform, batches, args.repeat)
        baseline = per_second(keyed_hash, batches, args.repeat)
        print(f"{name:32} {ours:12,.0f} {baseline:13,.0f} {ours / baseline:8.1f}x")
        if ours < TARGETS.get(name, 0):
            missed.append(f"{name}: {ours:,.0f} values/s, target {TARGETS[name]:,.0f}")
    for line in missed:
        print("target missed:", line)


if __name__ == "__main__":
    main()
