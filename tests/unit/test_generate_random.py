"""`random: true` in a generate job: a column rebuilt from another (a following timestamp
rebuilds the one it follows) draws from the run's key, so it sees what was written."""

import datetime as dt

from services.engine.generate.fill import generated_batches
from services.engine.transformers.random_keys import derive_run_key
from veilsync.temporal.v1 import generate_pb2 as g
from veilsync.v1 import transformer_pb2 as t

KEY = b"generate-test-key"
STAMP = "timestamp with time zone"
HIRED = g.GeneratedColumn(
    name="hired_at",
    data_type=STAMP,
    generator=t.TransformerConfig(generate_utctimestamp=t.GenerateUtcTimestamp(), random=True),
)
LEFT = g.GeneratedColumn(
    name="left_at",
    data_type=STAMP,
    following=g.FollowingTimestamp(after=HIRED, min_gap_seconds=1, max_gap_seconds=86_400),
)
STAFF = g.TableGeneration(table="public.staff", rows=200, columns=[HIRED, LEFT])


def rows(run_id: str) -> list[tuple[dt.datetime, dt.datetime]]:
    run_key = derive_run_key(KEY, run_id)
    batch = next(generated_batches(STAFF, ["hired_at", "left_at"], KEY, run_key=run_key))
    hired, left = (batch.column(name).to_pylist() for name in ("hired_at", "left_at"))
    return [
        (dt.datetime.fromisoformat(h), dt.datetime.fromisoformat(lt))
        for h, lt in zip(hired, left, strict=True)
    ]


def test_a_random_column_and_one_following_it_agree_within_a_run() -> None:
    first = rows("run-1")
    assert all(hired < left for hired, left in first)
    assert rows("run-1") == first
    assert [h for h, _ in rows("run-2")] != [h for h, _ in first]
