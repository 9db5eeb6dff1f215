"""The Temporal contract (proto/veilsync/temporal/v1/*_worker.proto) is the one place its names
are written: the generated code is what `make proto` writes, the plugin refuses a contract
that does not hold together, and services/ names no workflow, activity, query, signal or task
queue by a string of its own."""

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2

from services.common.contract_defs import ActivityDef, QueryDef, SignalDef, WorkflowDef
from services.contract import ml_worker_temporal, sync_worker_temporal
from tests.unit.test_contracts import ROOT, _files, _run
from veilsync.temporal.v1 import options_pb2

GENERATED = [Path("services/contract"), Path("workers/typescript-model/src/contract")]
PLUGIN = ROOT / "proto" / "protoc-gen-veilsync_temporal"
DEFS = (ActivityDef, QueryDef, SignalDef, WorkflowDef)


def contract_names() -> tuple[set[str], set[str]]:
    """The names of workflows, activities, queries and signals; the task queues."""
    names, queues = set(), set()
    for module in (ml_worker_temporal, sync_worker_temporal):
        for attribute, value in vars(module).items():
            if isinstance(value, DEFS):
                names.add(value.name)
            elif attribute.endswith("_TASK_QUEUE"):
                queues.add(value)
    return names, queues


def _bound(node: ast.AST) -> Iterator[tuple[str, ast.expr | None]]:
    """(name, value) of what `node` binds: keyword arguments, assignments, parameter
    defaults."""
    if isinstance(node, ast.keyword) and node.arg:
        yield node.arg, node.value
    elif isinstance(node, ast.Assign | ast.AnnAssign):
        for target in node.targets if isinstance(node, ast.Assign) else [node.target]:
            yield ast.unparse(target), node.value
    elif isinstance(node, ast.arguments):
        positional = [*node.posonlyargs, *node.args]
        yield from zip(
            [a.arg for a in positional[len(positional) - len(node.defaults) :]],
            node.defaults,
            strict=True,
        )
        yield from zip([a.arg for a in node.kwonlyargs], node.kw_defaults, strict=True)


def _literals(tree: ast.AST, names: set[str], queues: set[str]) -> Iterator[ast.Constant]:
    """String constants equal to a contract name; task queue names ("sync", "ml") only where
    bound to a queue, as the same short words may label other things."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in names:
            yield node
        for name, value in _bound(node):
            if "queue" in name and isinstance(value, ast.Constant) and value.value in queues:
                yield value


def test_the_contract_names_what_the_workers_serve() -> None:
    names, queues = contract_names()
    assert {"DataSyncWorkflow", "sync_tables", "generate_table", "sample_model"} <= names
    assert {"GetSyncProgress", "SetTrainingProgress"} <= names
    assert queues == {"sync", "ml"}
    assert (
        sync_worker_temporal.ACTIVITIES["sync_tables"] is sync_worker_temporal.SYNC_TABLES_ACTIVITY
    )


def test_literals_are_found_where_names_are_written() -> None:
    tree = ast.parse(
        'execute("sync_table")\n'
        'queue: str = "sync"\n'
        'def worker(task_queue="ml"): ...\n'
        'start(task_queue="sync")\n'
        'kind = "sync"\n'
    )
    names, queues = contract_names()
    assert sorted(node.lineno for node in _literals(tree, names, queues)) == [1, 2, 3, 4]


def test_services_write_no_contract_name_as_a_string() -> None:
    names, queues = contract_names()
    found = []
    for path in sorted((ROOT / "services").rglob("*.py")):
        if (ROOT / GENERATED[0]) in path.parents:
            continue
        for node in _literals(ast.parse(path.read_text(), str(path)), names, queues):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    assert not found, "use the definitions in services/contract instead:\n" + "\n".join(found)


def test_activity_inputs_name_their_tables() -> None:
    group = sync_worker_temporal.SYNC_TABLES_ACTIVITY
    assert group.tables is not None
    request = group.input()
    request.tables.add(schema="public", name="a")
    request.tables.add(schema="public", name="b")
    assert group.tables(request) == ["public.a", "public.b"]
    sample = ml_worker_temporal.SAMPLE_MODEL_ACTIVITY
    assert sample.tables is not None
    sampling = sample.input()
    sampling.request.schema, sampling.request.table = "shop", "orders"
    assert sample.tables(sampling) == ["shop.orders"]
    assert sync_worker_temporal.PLAN_SYNC_ACTIVITY.tables is None


def test_workflow_ids_come_from_the_template() -> None:
    train = ml_worker_temporal.TRAIN_MODEL_WORKFLOW
    assert train.workflow_id(train.input(model_id="m-1")) == "train-m-1"


def test_generated_contract_is_up_to_date(tmp_path: Path) -> None:
    result = _run("generate", "--output", str(tmp_path))
    assert result.returncode == 0, f"buf generate failed:\n{result.stdout}{result.stderr}"
    for folder in GENERATED:
        fresh = _files(tmp_path / folder)
        assert fresh, f"buf generate wrote nothing to {folder}"
        assert fresh == _files(ROOT / folder), f"{folder}/ is out of date; run `make proto`"


def _request(tmp_path: Path) -> plugin_pb2.CodeGeneratorRequest:
    image = tmp_path / "image.binpb"
    result = _run("build", "-o", str(image))
    assert result.returncode == 0, result.stderr
    files = descriptor_pb2.FileDescriptorSet.FromString(image.read_bytes()).file
    return plugin_pb2.CodeGeneratorRequest(
        file_to_generate=["veilsync/temporal/v1/ml_worker.proto"],
        parameter="lang=python",
        proto_file=files,
    )


def _generate(request: plugin_pb2.CodeGeneratorRequest) -> plugin_pb2.CodeGeneratorResponse:
    result = subprocess.run(
        [sys.executable, str(PLUGIN)],
        input=request.SerializeToString(),
        capture_output=True,
        check=True,
        timeout=60,
    )
    return plugin_pb2.CodeGeneratorResponse.FromString(result.stdout)


@pytest.mark.parametrize(
    ("rpc", "option", "field", "value", "error"),
    [
        ("TrainModelWorkflow", options_pb2.workflow, "id_template", "t-{nope}", "id_template"),
        ("TrainModelWorkflow", options_pb2.workflow, "queries", "Nope", "no query RPC"),
        ("SampleModel", options_pb2.activity, "table_field", "request.nope", "table_field"),
        ("SampleModel", options_pb2.activity, "name", "train_model", "is taken"),
    ],
)
def test_the_plugin_refuses_a_broken_contract(
    tmp_path: Path,
    rpc: str,
    option: Any,
    field: str,
    value: str,
    error: str,
) -> None:
    request = _request(tmp_path)
    assert not _generate(request).error
    [proto] = [f for f in request.proto_file if f.name in request.file_to_generate]
    [method] = [m for m in proto.service[0].method if m.name == rpc]
    options = method.options.Extensions[option]
    if field == "queries":
        options.queries.append(value)
    else:
        setattr(options, field, value)
    assert error in _generate(request).error
