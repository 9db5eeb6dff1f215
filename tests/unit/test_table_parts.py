"""Pure parts of key-range copies: how many parts, their bounds, their SQL, their progress."""

from services.engine.connectors.keyset import key_range, split_query
from services.engine.planning.sync_plan import split_parts
from services.sync_worker.table_run import TableRun
from services.sync_worker.workflows import _key_ranges, _units
from veilsync.temporal.v1 import sync_pb2
from veilsync.v1 import job_pb2


def _table(rows: int, key: tuple[str, ...] = ("id",)) -> sync_pb2.TablePlan:
    return sync_pb2.TablePlan(schema="public", name="t", primary_key=key, estimated_rows=rows)


def test_parts_follow_the_row_count_up_to_the_parallel_limit() -> None:
    assert split_parts(_table(1_000_000), 0, 4) == 1  # the default: a million rows a part
    assert split_parts(_table(1_000_001), 0, 4) == 2
    assert split_parts(_table(350), 100, 8) == 4
    assert split_parts(_table(10_000), 100, 3) == 3
    assert split_parts(_table(10_000, key=()), 100, 3) == 1  # no key, no ranges
    synthesized = _table(10_000)
    synthesized.synthesize.row_count = 10
    assert split_parts(synthesized, 100, 3) == 1
    grouped = _table(10_000)
    grouped.load_group = "public.t"  # written in one step with the rest of its group
    assert split_parts(grouped, 100, 3) == 1


def test_a_load_group_is_one_unit_whatever_its_tables_size() -> None:
    def table_input(name: str, rows: int, group: str = "") -> sync_pb2.SyncTableInput:
        plan = sync_pb2.TablePlan(schema="public", name=name, estimated_rows=rows)
        plan.load_group = group
        return sync_pb2.SyncTableInput(table=plan)

    inputs = {
        "public.staff": table_input("staff", 5_000_000, "public.staff"),
        "public.store": table_input("store", 2, "public.staff"),
        "public.big": table_input("big", 5_000_000),
        "public.a": table_input("a", 10),
        "public.b": table_input("b", 10),
    }
    ready = list(inputs)
    assert _units(ready, inputs, 3) == [
        ("public.staff", "public.store"),
        ("public.big",),
        ("public.a", "public.b"),
    ]
    assert _units(ready, inputs, 1) == [("public.staff", "public.store")]


def test_ranges_run_between_consecutive_split_keys() -> None:
    table = _table(300, key=("region", "seq"))
    table.split_keys.add(values=["eu", "7"])
    table.split_keys.add(values=["us", "2"])

    ranges = _key_ranges(table)

    assert [r.index for r in ranges] == [0, 1, 2]
    assert [list(r.after.values) for r in ranges] == [[], ["eu", "7"], ["us", "2"]]
    assert [list(r.until.values) for r in ranges] == [["eu", "7"], ["us", "2"], []]
    assert not ranges[0].HasField("after") and not ranges[-1].HasField("until")
    assert len(_key_ranges(_table(10))) == 1


def test_range_conditions_bind_both_ends_as_row_values() -> None:
    conditions, params = key_range(["a", "b"], lambda c: f"[{c}]", "?", ["1", "x"], ["5", "y"])

    assert conditions == ["([a], [b]) > (?, ?)", "([a], [b]) <= (?, ?)"]
    assert params == ["1", "x", "5", "y"]
    assert key_range(["a"], str, "%s", None, None) == ([], [])


def test_split_query_picks_every_step_th_row_before_the_last() -> None:
    query = split_query("s", "t", ["id"], str, "{}::text".format, 1000, 4, "x > 1")

    assert "id::text AS vs_k0" in query
    assert "FROM s.t WHERE x > 1" in query
    assert "vs_row % 250 = 0 AND vs_row < 1000" in query


def test_a_table_in_parts_reports_the_sum_of_its_parts() -> None:
    run = TableRun()
    progress = run._progress.tables.add(table="public.t", status=job_pb2.TABLE_SYNC_STATUS_RUNNING)
    run._tables["public.t"] = progress

    def signal(part: int, read: int) -> None:
        update = sync_pb2.TableProgress(table="public.t", rows_read=read, rows_written=read)
        run.set_progress(sync_pb2.SetSyncProgressRequest(table=update, part=part))

    signal(0, 100)
    signal(1, 40)
    signal(0, 90)  # a late, stale signal never lowers a count

    assert (progress.rows_read, progress.rows_written, progress.rows_total) == (140, 140, 140)
