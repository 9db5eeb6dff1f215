"""`veilsync models ...`: synthetic-data models, trained on a table or uploaded."""

import click
from google.protobuf import json_format

from services.cli.api_client import DEFAULT_TIMEOUT_S, list_all, open_api
from services.cli.context import CliContext, pass_cli
from services.cli.output import cell, enum_label, json_option, out, print_json, table, when
from services.common import ml_contract
from veilsync.v1 import model_pb2


def kind_label(kind: "model_pb2.ModelKind.ValueType") -> str:
    return enum_label(model_pb2.ModelKind, kind, "MODEL_KIND_")


TRAINABLE_KINDS = tuple(sorted(kind_label(k) for k in ml_contract.TRAINABLE_KINDS))


def status_label(status: "model_pb2.ModelStatus.ValueType") -> str:
    return enum_label(model_pb2.ModelStatus, status, "MODEL_STATUS_")


def evaluation_lines(evaluation: model_pb2.ModelEvaluation) -> list[str]:
    """A model's fidelity and privacy on held-out rows, as `models get` and `runs progress`
    print them."""
    if not evaluation.holdout_rows:
        return ["quality: not measured (too few rows to hold any out)"]
    lines = [
        f"quality: {evaluation.quality_score:.2f} (SDMetrics, against "
        f"{evaluation.holdout_rows} rows held out of training)"
    ]
    if evaluation.dcr_rows:
        lines.append(
            f"privacy: DCR share {evaluation.dcr_share:.2f} over {evaluation.dcr_rows} synthetic "
            "rows (0.5: no closer to training rows than to unseen ones; 1: copies them)"
        )
    if evaluation.memorizes:
        lines.append("warning: the model memorizes its training rows; samples may disclose them")
    return lines


@click.group()
def models() -> None:
    """Train, upload, inspect, sample and delete synthetic-data models."""


@models.command("list")
@json_option()
@pass_cli
def list_(cli: CliContext, as_json: bool) -> None:
    """List models."""
    with open_api(cli.settings) as api:
        found: list[model_pb2.Model] = list_all(
            api.models.ListModels, model_pb2.ListModelsRequest, lambda page: page.models
        )
    if as_json:
        print_json(model_pb2.ListModelsResponse(models=found))
        return
    grid = table("ID", "NAME", "KIND", "STATUS", "TABLE", "QUALITY", "CREATED")
    for m in found:
        quality = f"{m.quality_score:.2f}" if m.quality_score else "-"
        grid.add_row(
            m.id,
            m.name,
            kind_label(m.kind),
            status_label(m.status),
            m.table or "-",
            quality,
            when(m.create_time),
        )
    out.print(grid)


@models.command("get")
@click.argument("model_id")
@json_option()
@pass_cli
def get(cli: CliContext, model_id: str, as_json: bool) -> None:
    """Show a model, with its training progress while it trains."""
    with open_api(cli.settings) as api:
        m = api.models.GetModel(
            model_pb2.GetModelRequest(id=model_id), timeout=DEFAULT_TIMEOUT_S
        ).model
    if as_json:
        print_json(m)
        return
    out.print(f"id:      {m.id}")
    out.print(f"name:    {m.name}")
    out.print(f"kind:    {kind_label(m.kind)}")
    out.print(f"status:  {status_label(m.status)}")
    if m.table:
        out.print(f"trained: {m.source_connection} {m.table} ({m.training_rows} rows)")
    if m.status == model_pb2.MODEL_STATUS_TRAINING:
        out.print(f"epoch:   {m.progress.epoch}/{m.progress.epochs} (loss {m.progress.loss:.4f})")
    if m.HasField("evaluation"):
        for line in evaluation_lines(m.evaluation):
            out.print(line)
    elif m.quality_score:
        out.print(f"quality: {m.quality_score:.2f}")
    columns = ", ".join(
        f"{c.name} {enum_label(model_pb2.ModelColumnType, c.type, 'MODEL_COLUMN_TYPE_')}"
        + (f" ({'|'.join(c.categories)})" if c.categories else "")
        for c in m.columns
    )
    out.print(f"columns: {columns or '-'}")
    if m.error:
        out.print(f"error:   {m.error}")
    out.print(f"created: {when(m.create_time)}")


@models.command("train")
@click.option("--name", required=True, help="Unique model name.")
@click.option("--kind", type=click.Choice(TRAINABLE_KINDS), default="gaussian_copula")
@click.option("--connection", required=True, help="Connection holding the training table.")
@click.option("--table", "table_name", required=True, help="schema.table to learn from.")
@click.option("--epochs", type=int, default=0, help="Default 100.")
@click.option("--batch-size", type=int, default=0, help="Default 500.")
@click.option("--max-rows", type=int, default=0, help="Rows read at most; default 1000000.")
@click.option("--seed", type=int, default=0)
@pass_cli
def train(
    cli: CliContext,
    name: str,
    kind: str,
    connection: str,
    table_name: str,
    epochs: int,
    batch_size: int,
    max_rows: int,
    seed: int,
) -> None:
    """Start training a model on an ML worker; `models get ID` follows it."""
    request = model_pb2.TrainModelRequest(
        name=name,
        kind=model_pb2.ModelKind.Value(f"MODEL_KIND_{kind.upper()}"),
        source_connection=connection,
        table=table_name,
        options=model_pb2.TrainingOptions(
            epochs=epochs, batch_size=batch_size, max_rows=max_rows, seed=seed
        ),
    )
    with open_api(cli.settings) as api:
        m = api.models.TrainModel(request, timeout=DEFAULT_TIMEOUT_S).model
    out.print(m.id)
    click.echo(f"training model {m.name} on {m.table}", err=True)


@models.command("sample")
@click.argument("model")
@click.option("--rows", type=click.IntRange(1), default=10, show_default=True)
@click.option("--seed", type=int, default=0)
@click.option("--to", "connection", default=None, help="Write to this connection (with --table).")
@click.option("--table", "table_name", default=None, help="schema.table to write to.")
@json_option()
@pass_cli
def sample(
    cli: CliContext,
    model: str,
    rows: int,
    seed: int,
    connection: str | None,
    table_name: str | None,
    as_json: bool,
) -> None:
    """Generate rows from MODEL (its id or name): shown here (preview) or, with --to and
    --table, written to a table."""
    request = model_pb2.SampleModelRequest(id=model, row_count=rows, seed=seed)
    if connection or table_name:
        request.destination.connection = connection or ""
        request.destination.table = table_name or ""
    else:
        request.preview = True
    with open_api(cli.settings) as api:
        # Sampling runs on an ML worker and is answered when done: allow for big tables.
        result = api.models.SampleModel(request, timeout=max(DEFAULT_TIMEOUT_S, 600.0))
    if as_json:
        print_json(result)
    elif request.preview:
        grid = table(*result.columns)
        for row in result.rows:
            values = json_format.MessageToDict(row)
            grid.add_row(*(cell(values.get(c)) for c in result.columns))
        out.print(grid)
    else:
        out.print(f"wrote {result.rows_written} rows to {connection} {table_name}")


@models.command("delete")
@click.argument("model_id")
@pass_cli
def delete(cli: CliContext, model_id: str) -> None:
    """Delete a model and its files; a model in training is canceled first."""
    with open_api(cli.settings) as api:
        api.models.DeleteModel(model_pb2.DeleteModelRequest(id=model_id), timeout=DEFAULT_TIMEOUT_S)
    out.print(f"deleted model {model_id}")
