"""ML benchmark: train and sample through the ML worker (Temporal, PostgreSQL in and out)
against SDV called directly in one process on the same table; the quality of schema-aware
metadata against SDV's auto-detected metadata; with --device cuda:N, GPU against CPU
(bench/ml_gpu.py's comparison, best of --repeat, on this table read from the database).

    python -m bench.ml [--rows 5000] [--epochs 10] [--device cuda:0]
"""

import argparse
import asyncio
import time
import uuid
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pandas as pd
import psycopg
import torch
from sdv.metadata import Metadata
from temporalio.testing import WorkflowEnvironment

from bench.common import scratch_databases
from bench.ml_gpu import compare
from services.common import ml_contract
from services.common.model_files import ModelFiles
from services.common.object_store import LocalObjectStore
from services.common.secrets import SecretCipher
from services.common.store.models_store import ModelStore
from services.common.store.store import MetadataStore
from services.common.temporal import dev_server_binary
from services.engine.connectors import open_database
from services.ml_worker.backends import backend_for
from services.ml_worker.backends.base import TrainOptions
from services.ml_worker.backends.sdv_models import TABLE, SdvBackend
from services.ml_worker.evaluation import QUALITY_ROWS
from services.ml_worker.quality import quality_report
from services.ml_worker.spec import TableSpec
from services.ml_worker.tables import read_frame, resolve_table, spec_for_frame, write_frames
from services.ml_worker.worker import build_ml_worker
from veilsync.temporal.v1 import ml_pb2
from veilsync.v1 import model_pb2

DDL = """
CREATE TABLE customers (id integer PRIMARY KEY, email text NOT NULL);
CREATE TABLE orders (
    id integer PRIMARY KEY, customer_id integer NOT NULL REFERENCES customers(id),
    email text, status text NOT NULL, amount numeric(10, 2), paid boolean NOT NULL,
    created_at timestamp NOT NULL
);
"""
FILL = """
INSERT INTO customers SELECT g, 'c' || g || '@shop.test' FROM generate_series(1, 500) g;
INSERT INTO orders
SELECT g, 1 + (g * 7919) % 500, 'buyer' || g || '@mail.test',
       (ARRAY['new', 'paid', 'shipped', 'returned'])[1 + ((g * 31) % 4 + (g % 7 = 0)::int) % 4],
       round((exp(random() * 5) + (g % 4) * 20)::numeric, 2), random() < 0.3 + (g % 4) * 0.15,
       timestamp '2024-01-01' + (random() * 300) * interval '1 day'
FROM generate_series(1, %s) g;
"""
CPU = torch.device("cpu")
SDV_KINDS = {
    "gaussian_copula": model_pb2.MODEL_KIND_GAUSSIAN_COPULA,
    "ctgan": model_pb2.MODEL_KIND_CTGAN,
    "tvae": model_pb2.MODEL_KIND_TVAE,
}


class NoHooks:
    def epoch_done(self, epoch: int, loss: float) -> None: ...
    def still_running(self) -> None: ...
    def save_checkpoint(self, state: dict[str, Any]) -> None: ...
    def load_checkpoint(self) -> dict[str, Any] | None:
        return None


def spec_and_frame(url: str) -> tuple[TableSpec, pd.DataFrame]:
    database = open_database(url)
    table = resolve_table(database, "public", "orders")
    frame = read_frame(database, table, 10_000_000)
    return spec_for_frame(table, frame, {}), frame


def direct_sdv(kind: str, source: str, destination: str, epochs: int, rows: int) -> float:
    """The same work as the worker's train and sample, with SDV called directly: read the
    table, fit the same synthesizer (same metadata, epochs and batch size), measure quality
    on as many rows as the worker does, sample and write the rows back. No Temporal."""
    start = time.perf_counter()
    spec, frame = spec_and_frame(source)
    options = TrainOptions(epochs, 500, 1)
    synthesizer = SdvBackend(kind).synthesizer(
        Metadata.load_from_dict({"tables": {TABLE: spec.sdv_metadata()}}), options, CPU
    )
    synthesizer.fit({TABLE: frame[[c.name for c in spec.learned]]})
    quality_rows = min(len(frame), QUALITY_ROWS)
    real = frame.head(quality_rows)
    quality_report(real, _sample(synthesizer, quality_rows), spec.sdv_metadata())
    sampled = _sample(synthesizer, rows)
    key = 1 + pd.RangeIndex(rows)
    sampled.insert(0, "id", key)
    sampled.insert(1, "customer_id", 1 + key % 500)
    database = open_database(destination)
    write_frames(database, resolve_table(database, "public", "orders"), iter([sampled]), ["id"])
    return time.perf_counter() - start


def _sample(synthesizer: Any, rows: int) -> pd.DataFrame:
    result = synthesizer.sample(rows)
    return result[TABLE] if isinstance(result, dict) else result


async def through_worker(
    env: WorkflowEnvironment, queue: str, models: ModelStore, kind: str, rows: int, epochs: int
) -> float:
    """TrainModelWorkflow then SampleModelWorkflow into the destination, end to end."""
    model = models.create(
        "default", model_pb2.Model(name=f"b-{uuid.uuid4().hex[:8]}", kind=SDV_KINDS[kind])
    )
    start = time.perf_counter()
    await env.client.execute_workflow(
        ml_contract.TRAIN_MODEL_WORKFLOW,
        ml_pb2.TrainModelWorkflowInput(
            account_id="default",
            model_id=model.id,
            source_connection_id="src",
            schema="public",
            table="orders",
            kind=SDV_KINDS[kind],
            options=model_pb2.TrainingOptions(
                epochs=epochs, batch_size=500, max_rows=10_000_000, seed=1
            ),
        ),
        id=ml_contract.train_workflow_id(model.id),
        task_queue=queue,
        result_type=ml_pb2.TrainModelWorkflowResult,
    )
    await env.client.execute_workflow(
        ml_contract.SAMPLE_MODEL_WORKFLOW,
        ml_pb2.SampleModelWorkflowInput(
            account_id="default",
            model_id=model.id,
            destination_connection_id="dst",
            schema="public",
            table="orders",
            row_count=rows,
            seed=2,
        ),
        id=f"sample-{uuid.uuid4().hex}",
        task_queue=queue,
        result_type=ml_pb2.SampleModelWorkflowResult,
    )
    return time.perf_counter() - start


def _truncate(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE orders")


async def overhead(kinds: list[str], rows: int, epochs: int, repeat: int) -> None:
    """Best of `repeat` runs of each path, alternating, after one warm-up run of each (imports,
    first-call costs, Temporal's first tasks), on the same rows with the same epochs."""
    with scratch_databases("src", "dst") as (source, destination), TemporaryDirectory() as tmp:
        for url, fill in ((source, True), (destination, False)):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(DDL)
                if fill:
                    conn.execute(FILL.replace("%s", str(rows)))
                    conn.execute("ANALYZE")
                else:
                    conn.execute(
                        "INSERT INTO customers SELECT g, 'x' FROM generate_series(1, 500) g"
                    )
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=str(dev_server_binary()),
            dev_server_extra_args=["--headless", "--log-level", "error"],
        )
        url = f"sqlite:///{Path(tmp) / 'metadata.db'}"
        MetadataStore(url, SecretCipher(b"0" * 43 + b"=")).migrate()
        models = ModelStore(url)
        urls = {"src": source, "dst": destination}

        class Directory:
            def connection_url(self, account_id: str, connection_id: str) -> str:
                return urls[connection_id]

        queue = f"ml-bench-{uuid.uuid4().hex[:6]}"
        with ThreadPoolExecutor(2) as executor:
            worker = build_ml_worker(
                env.client,
                Directory(),
                models,
                ModelFiles(LocalObjectStore(Path(tmp) / "models")),
                CPU,
                b"bench",
                executor,
                queue,
            )
            async with worker:
                for kind in kinds:
                    times: dict[str, list[float]] = {"worker": [], "direct": []}
                    for run in range(repeat + 1):  # run 0 warms up both paths
                        _truncate(destination)
                        w = await through_worker(env, queue, models, kind, rows, epochs)
                        _truncate(destination)
                        d = await asyncio.to_thread(
                            direct_sdv, kind, source, destination, epochs, rows
                        )
                        if run:
                            times["worker"].append(w)
                            times["direct"].append(d)
                    worker_s, direct = min(times["worker"]), min(times["direct"])
                    spread = max(times["direct"]) / direct - 1
                    print(
                        f"{kind:16s} worker {worker_s:7.2f}s  direct SDV {direct:7.2f}s  "
                        f"overhead {worker_s / direct - 1:+6.1%}  (target <= +10%; best of "
                        f"{repeat}, direct spread {spread:.0%})",
                        flush=True,
                    )
        await env.shutdown()
        models.close()


def quality_comparison(rows: int) -> None:
    from sdv.metadata import Metadata
    from sdv.single_table import GaussianCopulaSynthesizer

    with scratch_databases("q") as (source,):
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute(DDL)
            conn.execute(FILL.replace("%s", str(rows)))
        spec, frame = spec_and_frame(source)
    learned = spec.sdv_metadata()
    fitted = backend_for(model_pb2.MODEL_KIND_GAUSSIAN_COPULA).fit(
        frame, spec, TrainOptions(1, 500, 1), NoHooks(), torch.device("cpu")
    )
    aware = quality_report(frame, fitted.sample(len(frame), 2), learned).overall_score
    raw = frame.copy()
    detected = Metadata.detect_from_dataframes({"orders": raw})
    synthesizer = GaussianCopulaSynthesizer(detected)
    synthesizer.fit({"orders": raw})
    sampled = synthesizer.sample(len(raw))
    auto = quality_report(
        frame, sampled["orders"] if isinstance(sampled, dict) else sampled, learned
    )
    print(
        f"quality (SDMetrics, gaussian_copula, same evaluated columns): schema-aware "
        f"{aware:.3f}  vs SDV auto-detected {auto.overall_score:.3f}"
    )


def gpu_speedup(rows: int, epochs: int, repeat: int, device: torch.device) -> None:
    """bench/ml_gpu.py's comparison on this bench's orders table, read from the database."""
    with scratch_databases("g") as (source,):
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute(DDL)
            conn.execute(FILL.replace("%s", str(rows)))
        spec, frame = spec_and_frame(source)
    compare(frame, spec, epochs, repeat, device)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--device", default="cpu", help="cpu or cuda:N")
    parser.add_argument("--kinds", default="gaussian_copula,ctgan,tvae")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the best counts")
    parser.add_argument("--threads", type=int, default=2, help="torch threads, both paths")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    # One process-wide intra-op pool: the worker's activity thread and the direct path share it.
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    print(
        f"bench/ml: {args.rows} rows, {args.epochs} epochs, batch 500, {args.threads} torch "
        f"threads, CPU; GPU comparison on {device}"
    )
    asyncio.run(overhead(args.kinds.split(","), args.rows, args.epochs, args.repeat))
    quality_comparison(args.rows)
    if device.type == "cuda":
        torch.cuda.set_device(device)
        gpu_speedup(args.rows, args.epochs, args.repeat, device)


if __name__ == "__main__":
    main()
