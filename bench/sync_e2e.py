"""The sync as a user meets it, `veilsync jobs run NAME --wait` against a running stack,
next to PostgreSQL's binary COPY pipe of the same table, on two workloads:

- people: today's 8-column table (bench.sync_copy's), three columns transformed;
- realistic: 12 columns (text of 50-500 bytes, jsonb, timestamps, numerics, NULLs), six
  transformed: email, first and last name (thousands of distinct values), phone, ssn
  (transform_hash) and a street address.

    .venv/bin/python -m bench.sync_e2e [--rows N] [--samples S] [--only people realistic]

Each sample runs both sides in turns (which goes first alternates), the destination truncated
every time: `psql -c "COPY t TO STDOUT (FORMAT binary)" | psql -c "TRUNCATE t" -c "COPY t FROM
STDIN (FORMAT binary)"` against the CLI subprocess, start to exit. After every Veilsync run the
bench checks the row count and that no transformed value came through unchanged (NULL to NULL
allowed), and fails loudly otherwise. It also times a 1-row job end to end against
`psql -c 'select 1'`.
"""

import argparse
import json
import statistics
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import psycopg
import yaml

from bench import sync_copy
from bench.common import CliStack, cli_stack, scratch_databases, spread, timed
from services.common.temporal import dev_server_binary

REALISTIC_TABLE = """
CREATE TABLE people (
    id bigint PRIMARY KEY, email text NOT NULL, first_name text NOT NULL,
    last_name text NOT NULL, phone text, ssn text, address text,
    bio text, profile jsonb, signed_up timestamptz NOT NULL, last_seen timestamp,
    balance numeric(14, 4))
"""
# Names from a few thousand distinct values, text of 50-500 bytes, a NULL in one row of
# seven to thirteen in the nullable columns.
REALISTIC_FILL = """
INSERT INTO people
SELECT i,
       'user.' || md5(i::text) || '@mail' || (i %% 50) || '.test',
       initcap(substr(md5((i %% 4000)::text), 1, 4 + i %% 6)),
       initcap(substr(md5('l' || (i %% 20000)), 1, 5 + i %% 8)),
       CASE WHEN i %% 11 = 0 THEN NULL ELSE '+1 (555) ' || lpad((i %% 10000000)::text, 7, '0') END,
       CASE WHEN i %% 13 = 0 THEN NULL
            ELSE lpad((i %% 1000)::text, 3, '0') || '-' || lpad((i %% 100)::text, 2, '0')
                 || '-' || lpad((i %% 10000)::text, 4, '0') END,
       CASE WHEN i %% 7 = 0 THEN NULL ELSE (i %% 9000) || ' Elm Ave, Suite ' || (i %% 97) END,
       repeat('lorem ipsum dolor ', 3 + i %% 26),
       CASE WHEN i %% 9 = 0 THEN NULL
            ELSE jsonb_build_object('plan', (ARRAY['free', 'pro', 'team'])[1 + i %% 3],
                                    'seats', i %% 40, 'tags', jsonb_build_array('a', i %% 5)) END,
       '2020-01-01'::timestamptz + i * interval '37 seconds',
       CASE WHEN i %% 5 = 0 THEN NULL ELSE '2024-06-01'::timestamp + i * interval '1 second' END,
       CASE WHEN i %% 17 = 0 THEN NULL ELSE (i %% 10000000) / 10000.0 END
FROM generate_series(1, %s) AS i
"""


@dataclass(frozen=True)
class Workload:
    name: str
    table_sql: str
    fill_sql: str
    transforms: dict[str, str]


WORKLOADS = {
    "people": Workload(
        "people",
        sync_copy.TABLE,
        sync_copy.FILL,
        {
            "email": "{transform_email: {}}",
            "first_name": "{transform_first_name: {}}",
            "ssn": "{transform_hash: {}}",
        },
    ),
    "realistic": Workload(
        "realistic",
        REALISTIC_TABLE,
        REALISTIC_FILL,
        {
            "email": "{transform_email: {}}",
            "first_name": "{transform_first_name: {}}",
            "last_name": "{transform_last_name: {}}",
            "phone": "{transform_phone_number: {}}",
            "ssn": "{transform_hash: {}}",
            "address": "{generate_street_address: {}}",
        },
    ),
}


def job_yaml(name: str, source: str, destination: str, transforms: dict[str, str]) -> str:
    job = {
        "name": name,
        "source": {"connection": source},
        "destinations": [{"connection": destination, "truncate_before_insert": True}],
        "mappings": [
            {
                "table": "public.people",
                "columns": {column: yaml.safe_load(t) for column, t in transforms.items()},
            }
        ],
    }
    return yaml.safe_dump(job, sort_keys=False)


def binary_pipe(source: str, destination: str) -> None:
    """The baseline: the server's binary COPY out piped into a truncated table's COPY in."""
    out = subprocess.Popen(
        ["psql", "-qAt", source, "-c", "COPY people TO STDOUT (FORMAT binary)"],
        stdout=subprocess.PIPE,
    )
    subprocess.run(
        [
            *("psql", "-qAt", "-v", "ON_ERROR_STOP=1", destination),
            *("-c", "TRUNCATE people", "-c", "COPY people FROM STDIN (FORMAT binary)"),
        ],
        stdin=out.stdout,
        check=True,
    )
    if out.wait() != 0:
        raise RuntimeError("binary COPY out failed")


def check_transformed(source: str, destination: str, columns: list[str], rows: int) -> None:
    """Row count equal, and no transformed value left as it was: the destination's key and
    transformed columns are copied next to the source's table and joined on the key."""
    listed = ", ".join(["id", *columns])
    with psycopg.connect(source, autocommit=True) as src, psycopg.connect(destination) as dst:
        src.execute("DROP TABLE IF EXISTS bench_check")
        src.execute(f"CREATE UNLOGGED TABLE bench_check AS SELECT {listed} FROM people LIMIT 0")
        with (
            dst.cursor().copy(f"COPY people ({listed}) TO STDOUT (FORMAT binary)") as out,
            src.cursor().copy("COPY bench_check FROM STDIN (FORMAT binary)") as into,
        ):
            for chunk in out:
                into.write(chunk)
        counts = ", ".join(f"count(*) FILTER (WHERE s.{c} = d.{c})" for c in columns)
        row = src.execute(
            f"SELECT (SELECT count(*) FROM bench_check), count(*), {counts} "
            "FROM people s JOIN bench_check d USING (id)"
        ).fetchone()
        src.execute("DROP TABLE bench_check")
    assert row is not None
    copied, joined, *unchanged = row
    if copied != rows or joined != rows:
        raise RuntimeError(f"destination has {copied} rows ({joined} matching keys), not {rows}")
    left = {c: n for c, n in zip(columns, unchanged, strict=True) if n}
    if left:
        raise RuntimeError(f"values left unchanged by their transformer: {left}")


def prepare(cli: CliStack, tag: str, urls: tuple[str, str], transforms: dict[str, str]) -> str:
    """Connections and a job on the stack for source -> destination; the job's name."""
    source, destination = f"src-{tag}", f"dst-{tag}"
    cli("connections", "create", "--name", source, "--url", urls[0])
    cli("connections", "create", "--name", destination, "--url", urls[1])
    job_file = Path(cli.env["VEILSYNC_DATA_DIR"]) / f"{tag}.yaml"
    job_file.write_text(job_yaml(f"job-{tag}", source, destination, transforms))
    cli("jobs", "create", "-f", str(job_file))
    return f"job-{tag}"


def run_job(cli: CliStack, job: str) -> Callable[[], str]:
    return lambda: cli("jobs", "run", job, "--wait")


def create_tables(urls: list[str], table_sql: str) -> None:
    for url in urls:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(table_sql)


def bench_workload(cli: CliStack, workload: Workload, rows: int, samples: int) -> None:
    with scratch_databases("src", "pipe", "dst") as (source, pipe, destination):
        create_tables([source, pipe, destination], workload.table_sql)
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute(workload.fill_sql, (rows,))
            conn.execute("VACUUM ANALYZE people")
        job = prepare(cli, workload.name, (source, destination), workload.transforms)
        times: dict[str, list[float]] = {"pipe": [], "veilsync": []}
        steps: dict[str, list[float]] = defaultdict(list)
        for sample in range(samples):
            sides = ["pipe", "veilsync"] if sample % 2 == 0 else ["veilsync", "pipe"]
            for side in sides:
                if side == "pipe":
                    times[side].append(timed(lambda: binary_pipe(source, pipe)))
                else:
                    start = time.perf_counter()
                    run_id = run_job(cli, job)().splitlines()[0].strip()
                    times[side].append(time.perf_counter() - start)
                    check_transformed(source, destination, list(workload.transforms), rows)
                    for step, seconds in history_breakdown(cli, run_id).items():
                        steps[step].append(seconds)
    pipe_s, veilsync_s = (statistics.median(times[s]) for s in ("pipe", "veilsync"))
    print(f"{workload.name}: {rows:,} rows, {len(workload.transforms)} columns transformed")
    print(f"  binary COPY pipe:           {spread(times['pipe'])}")
    print(f"  veilsync jobs run --wait:   {spread(times['veilsync'])}")
    print(f"  throughput ratio pipe / veilsync (medians): {pipe_s / veilsync_s:.2f}")
    print_steps(steps)


def print_steps(steps: dict[str, list[float]]) -> None:
    print("  where a run's time goes (its Temporal history; the rest is the CLI's start, the")
    print("  API's calls and its progress watch passing on the end):")
    for step, samples_s in steps.items():
        print(f"    {step:34} {spread(samples_s)}")


def _event_time(event: dict[str, object]) -> float:
    stamp = str(event["eventTime"]).rstrip("Z")
    whole, _, fraction = stamp.partition(".")
    # Nanoseconds, which fromisoformat does not take: the fraction is added on its own.
    return datetime.fromisoformat(f"{whole}+00:00").timestamp() + float(f"0.{fraction or 0}")


def history_breakdown(cli: CliStack, run_id: str) -> dict[str, float]:
    """Seconds of a run's workflow by step, from its Temporal history: each activity from
    scheduled to completed, the workflow's own tasks, and the whole workflow."""
    shown = subprocess.run(
        [
            *(str(dev_server_binary()), "workflow", "show", "-w", run_id, "-o", "json"),
            *("--address", cli.env["VEILSYNC_TEMPORAL_ADDRESS"]),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    events = json.loads(shown.stdout)["events"]
    steps: dict[str, float] = defaultdict(float)
    scheduled: dict[str, tuple[str, float]] = {}
    task_scheduled = 0.0
    for event in events:
        kind, at = event["eventType"], _event_time(event)
        if kind == "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED":
            attributes = event["activityTaskScheduledEventAttributes"]
            scheduled[event["eventId"]] = (attributes["activityType"]["name"], at)
        elif kind == "EVENT_TYPE_ACTIVITY_TASK_COMPLETED":
            attributes = event["activityTaskCompletedEventAttributes"]
            name, start = scheduled[attributes["scheduledEventId"]]
            steps[f"activity {name}"] += at - start
        elif kind == "EVENT_TYPE_WORKFLOW_TASK_SCHEDULED":
            task_scheduled = at
        elif kind == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED":
            steps["workflow tasks"] += at - task_scheduled
    steps["whole workflow"] = _event_time(events[-1]) - _event_time(events[0])
    return steps


def bench_one_row(cli: CliStack, samples: int) -> None:
    with scratch_databases("one_src", "one_dst") as (source, destination):
        create_tables([source, destination], sync_copy.TABLE)
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute(sync_copy.FILL, (1,))
        job = prepare(cli, "one", (source, destination), WORKLOADS["people"].transforms)
        times: dict[str, list[float]] = {"select 1": [], "jobs list": [], "veilsync": []}
        steps: dict[str, list[float]] = defaultdict(list)
        for _ in range(samples):
            times["select 1"].append(
                timed(
                    lambda: subprocess.run(
                        ["psql", "-qAt", source, "-c", "select 1"], check=True, capture_output=True
                    )
                )
            )
            times["jobs list"].append(timed(lambda: cli("jobs", "list")))
            start = time.perf_counter()
            run_id = run_job(cli, job)().splitlines()[0].strip()
            times["veilsync"].append(time.perf_counter() - start)
            for step, seconds in history_breakdown(cli, run_id).items():
                steps[step].append(seconds)
    print("1-row job end to end:")
    print(f"  psql -c 'select 1':         {spread(times['select 1'])}")
    print(f"  veilsync jobs list:         {spread(times['jobs list'])} (the CLI's start, one call)")
    print(f"  veilsync jobs run --wait:   {spread(times['veilsync'])}")
    print_steps(steps)


def main(rows: int, samples: int, only: list[str]) -> None:
    with cli_stack() as cli:
        bench_one_row(cli, samples)
        for name in only:
            bench_workload(cli, WORKLOADS[name], rows, samples)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--samples", type=int, default=3, help="per side, at least 3")
    parser.add_argument("--only", nargs="*", default=list(WORKLOADS), choices=list(WORKLOADS))
    args = parser.parse_args()
    main(args.rows, max(args.samples, 3), args.only)
