"""Create connections and a job from a JSON job file, run the job and print its progress.

    python sync_job.py job.json \
        --connection shop-prod=postgresql://postgres@127.0.0.1/shop \
        --connection shop-qa=postgresql://postgres@127.0.0.1/shop_qa

The job file is the proto3 JSON mapping of veilsync.v1.Job (a YAML job file is the same mapping
written as YAML). The API address and key come from --address/--api-key or VEILSYNC_API and
VEILSYNC_API_KEY. Exits 0 when the run succeeds.
"""

import argparse
import json
import sys
from pathlib import Path

from veilsync.v1 import job_pb2
from veilsync_sdk import AlreadyExistsError, Client


def print_progress(progress: job_pb2.JobRunProgress) -> None:
    tables = ", ".join(
        f"{t.table} {t.rows_read}/{t.rows_total}" for t in progress.tables if t.rows_total
    )
    status = job_pb2.RunStatus.Name(progress.status)
    print(f"{status} {progress.percent:5.1f}% {tables}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("job_file", type=Path, help="the job, as proto3 JSON")
    parser.add_argument(
        "--connection",
        action="append",
        default=[],
        metavar="NAME=URL",
        help="a connection the job names; created, or its URL updated when it exists",
    )
    parser.add_argument("--address", help="host:port of the API (default: $VEILSYNC_API)")
    parser.add_argument("--api-key", help="API key (default: $VEILSYNC_API_KEY)")
    args = parser.parse_args()
    job = json.loads(args.job_file.read_text())

    with Client(args.address, api_key=args.api_key) as client:
        for spec in args.connection:
            name, _, url = spec.partition("=")
            try:
                client.connections.create(name, url)
            except AlreadyExistsError:
                client.connections.update(name, url)
        try:
            created = client.jobs.create(job)
        except AlreadyExistsError:
            created = client.jobs.update(job["name"], job)
        print(f"job {created.name} ({created.id})")

        run = client.jobs.run(created)
        print(f"run {run.id} started")
        final = run.wait(on_progress=print_progress)
        progress = run.progress()

    status = job_pb2.RunStatus.Name(final.status)
    print(f"{status}: {progress.rows_written} rows written")
    if final.status != job_pb2.RUN_STATUS_SUCCEEDED:
        print(f"run failed: {final.failure_message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
