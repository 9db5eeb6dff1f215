"""A subset of Sakila rooted at rental keeps exactly the rows the plain-Python reference of
the subset rules keeps (tests/property/subset_reference.py)."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from services.engine.connectors import open_database
from services.engine.planning.load_order import plan_tables
from tests.integration.shop import run_sync
from tests.property.subset_reference import Reference, Row
from veilsync.v1 import job_pb2

JUNE_2005 = datetime(2005, 6, 1)


def _rows(url: str, table: str) -> list[Row]:
    with psycopg.connect(url, row_factory=dict_row) as conn:
        return list(conn.execute(f"SELECT * FROM ONLY public.{table}").fetchall())


def _keys(rows: list[Row], columns: tuple[str, ...]) -> set[tuple[Any, ...]]:
    return {tuple(r[c] for c in columns) for r in rows}


def test_a_subset_rooted_at_rental_keeps_exactly_the_reference_rows(
    sakila_pg: Callable[[], str], pg_database: Callable[[str], str]
) -> None:
    source, destination = sakila_pg(), pg_database("dst")
    job = job_pb2.Job(source=job_pb2.JobSource(subset_by_foreign_keys=True))
    job.source.subsets.add(table="rental", where="rental_date < '2005-06-01'")
    plan = run_sync(source, destination, job)

    steps = plan_tables(open_database(source).introspect().tables.values())
    rows = {s.table.qualified: _rows(source, s.table.name) for s in steps}
    clauses = {"public.rental": lambda row: row["rental_date"] < JUNE_2005}
    reference = Reference(steps, rows, clauses, by_foreign_keys=True)
    assert len(reference.kept["public.rental"]) == 1156
    for step in steps:
        table = step.table
        key = table.primary_key or tuple(c.name for c in table.columns)
        got = _keys(_rows(destination, table.name), key)
        assert got == _keys(reference.kept[table.qualified], key), table.qualified
    copied = {f"{t.schema}.{t.name}" for t in plan.tables}
    assert copied == set(rows)
