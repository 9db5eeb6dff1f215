"""The CLI's pure formatting: JSON for scripts, counts, preview cells, ids kept whole and the
plain progress lines CI logs get."""

import json
from datetime import timedelta

import pytest
from google.protobuf import duration_pb2, struct_pb2
from rich.console import Console

from services.cli.output import cell, count, print_json, table
from services.cli.run_watch import _Lines, run_line, table_line
from veilsync.v1 import job_pb2, model_pb2


def _duration(seconds: int) -> duration_pb2.Duration:
    value = duration_pb2.Duration()
    value.FromTimedelta(timedelta(seconds=seconds))
    return value


def test_json_writes_whole_numbers_as_integers(capsys: pytest.CaptureFixture[str]) -> None:
    row = struct_pb2.Struct()
    row.update({"customer_id": 1, "amount": 2.5, "name": None})
    print_json(model_pb2.SampleModelResponse(columns=["customer_id", "amount", "name"], rows=[row]))
    text = capsys.readouterr().out
    assert '"customer_id": 1.0' not in text  # a Struct holds doubles: whole ones print bare
    parsed = json.loads(text)
    assert parsed["rows"] == [{"customer_id": 1, "amount": 2.5, "name": None}]
    assert isinstance(parsed["rows"][0]["customer_id"], int)
    assert parsed["rows_written"] == "0"  # proto3 JSON: int64 as a string, defaults printed


def test_json_takes_plain_data_too(capsys: pytest.CaptureFixture[str]) -> None:
    print_json({"processes": [{"name": "api", "pid": 7}], "serving": True})
    assert json.loads(capsys.readouterr().out) == {
        "processes": [{"name": "api", "pid": 7}],
        "serving": True,
    }


@pytest.mark.parametrize(
    ("value", "shown"),
    [(1.0, "1"), (2.5, "2.5"), (None, "NULL"), ("a", "a"), (True, "True"), (-3.0, "-3")],
)
def test_preview_cells(value: object, shown: str) -> None:
    assert cell(value) == shown


def test_counts_have_thousands_separators() -> None:
    assert (count(1234567), count(999), count(1234.6)) == ("1,234,567", "999", "1,235")


def test_ids_are_never_wrapped_at_80_columns() -> None:
    run_id = "run-" + "0123456789abcdef" * 3
    grid = table("RUN", "JOB", "STATUS", "STARTED", "CLOSED", "FAILURE")
    grid.add_row(run_id, "nightly", "failed", "2026-01-01 10:00:00 UTC", "-", "x " * 40)
    console = Console(width=80, record=True)
    console.print(grid)
    assert run_id in console.export_text()


def _table(
    status: "job_pb2.TableSyncStatus.ValueType", read: int, eta: int | None = None
) -> job_pb2.TableRunProgress:
    t = job_pb2.TableRunProgress(
        table="public.orders", status=status, rows_read=read, rows_total=5000, rows_per_second=300
    )
    if eta is not None:
        t.eta.CopyFrom(_duration(eta))
    return t


def test_progress_lines() -> None:
    running = _table(job_pb2.TABLE_SYNC_STATUS_RUNNING, 1200, eta=12)
    assert (
        table_line(running) == "public.orders: running, 1,200/5,000 rows, 300 rows/s, eta 0:00:12"
    )
    canceled = _table(job_pb2.TABLE_SYNC_STATUS_CANCELED, 1200)
    assert table_line(canceled) == "public.orders: canceled, 1,200/5,000 rows, 300 rows/s"
    run = job_pb2.JobRunProgress(
        rows_read=1200, rows_total=9000, percent=13.3, rows_per_second=1500.4, eta=_duration(86)
    )
    assert run_line(run) == "run: 1,200/9,000 rows (13%), 1,500 rows/s, eta 0:01:26"


def test_plain_lines_on_each_state_change_and_every_few_seconds() -> None:
    written: list[str] = []
    now = [0.0]
    lines = _Lines(write=written.append, clock=lambda: now[0], every_s=5.0)

    def show(status: "job_pb2.TableSyncStatus.ValueType", read: int, at: float) -> None:
        now[0] = at
        lines.show(job_pb2.JobRunProgress(tables=[_table(status, read)], rows_read=read))

    show(job_pb2.TABLE_SYNC_STATUS_PENDING, 0, 0.0)  # a new table, and the first totals
    show(job_pb2.TABLE_SYNC_STATUS_RUNNING, 10, 1.0)  # it changed state
    show(job_pb2.TABLE_SYNC_STATUS_RUNNING, 20, 2.0)  # counts alone: quiet
    show(job_pb2.TABLE_SYNC_STATUS_RUNNING, 30, 5.0)  # five seconds on: the totals again
    show(job_pb2.TABLE_SYNC_STATUS_SUCCEEDED, 40, 6.0)
    assert [line.split(",")[0] for line in written] == [
        "public.orders: pending",
        "run: 0/0 rows (0%)",
        "public.orders: running",
        "run: 30/0 rows (0%)",
        "public.orders: succeeded",
    ]
