"""`veilsync jobs suggest`: a job file started from the API's PII suggestions for a source."""

import sys
from collections.abc import Sequence
from pathlib import Path

import click

from services.cli.api_client import DEFAULT_TIMEOUT_S, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.jobfile import dump_job
from services.cli.output import err
from veilsync.v1 import connection_pb2, job_pb2
from veilsync.v1 import transformer_pb2 as t


def job_from_suggestions(
    name: str,
    source: str,
    destinations: Sequence[str],
    response: t.SuggestTransformersResponse,
    min_confidence: float = 0.0,
) -> job_pb2.Job:
    """A job mapping every suggested column at or above `min_confidence`, tables in order."""
    job = job_pb2.Job(
        name=name,
        source=job_pb2.JobSource(connection=source),
        destinations=[
            job_pb2.JobDestination(connection=d, truncate_before_insert=True) for d in destinations
        ],
    )
    mappings: dict[str, job_pb2.TableMapping] = {}
    for suggestion in response.suggestions:
        if suggestion.confidence < min_confidence:
            continue
        if suggestion.table not in mappings:
            mappings[suggestion.table] = job.mappings.add(table=suggestion.table)
        mappings[suggestion.table].columns[suggestion.column].CopyFrom(suggestion.config)
    return job


@click.command("suggest")
@click.option("--source", required=True, help="Source connection to sample.")
@click.option(
    "--destination", "destinations", required=True, multiple=True, help="Destination connection."
)
@click.option("--name", default="", help="Job name  [default: SOURCE-to-DESTINATION]")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the job file here  [default: standard output]",
)
@click.option("--sample-rows", type=click.IntRange(0, 1000), default=0, help="Rows per table.")
@click.option(
    "--min-confidence",
    type=click.FloatRange(0, 1),
    default=0.0,
    help="Leave out suggestions less sure than this.",
)
@pass_cli
def suggest(
    cli: CliContext,
    source: str,
    destinations: tuple[str, ...],
    name: str,
    output: Path | None,
    sample_rows: int,
    min_confidence: float,
) -> None:
    """Write a job file whose mappings anonymize the columns that look like personal data."""
    with open_api(cli.settings) as api:
        response = api.transformers.SuggestTransformers(
            t.SuggestTransformersRequest(
                connection=connection_pb2.ConnectionRef(name=source), sample_rows=sample_rows
            ),
            timeout=DEFAULT_TIMEOUT_S,
        )
    job = job_from_suggestions(
        name or f"{source}-to-{destinations[0]}", source, destinations, response, min_confidence
    )
    text = dump_job(job)
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")
    mapped = sum(len(m.columns) for m in job.mappings)
    err.print(f"suggested transformers for {mapped} columns in {len(job.mappings)} tables")
    for column in response.skipped_key_columns:
        err.print(f"left {column} unmapped: it is a key; map it and its references alike")
