"""GPU against CPU training of ctgan, tvae and the first-party VAE, on an in-memory table
shaped like bench/ml.py's orders (no database, no Temporal: only the model backends).

    python -m bench.ml_gpu [--rows 10000] [--epochs 10] [--repeat 2] [--device cuda:0]

Each (model, device) pair gets a one-epoch warm-up (imports, CUDA context, kernels), then the
best of --repeat timed trainings; CPU runs use every core (torch threads pinned to the count).
bench/ml.py --device cuda:N runs the same comparison (`compare`) on its database's table."""

import argparse
import os
import time
import warnings

import numpy as np
import pandas as pd
import torch

from services.ml_worker.backends import backend_for
from services.ml_worker.backends.base import TrainOptions
from services.ml_worker.spec import ColumnSpec, Role, TableSpec
from veilsync.v1 import model_pb2

KINDS = (model_pb2.MODEL_KIND_CTGAN, model_pb2.MODEL_KIND_TVAE, model_pb2.MODEL_KIND_VEILSYNC_VAE)
SPEC = TableSpec(
    "public",
    "orders",
    (
        ColumnSpec("status", Role.CATEGORICAL, model_pb2.MODEL_COLUMN_TYPE_STRING),
        ColumnSpec("amount", Role.NUMERICAL, model_pb2.MODEL_COLUMN_TYPE_FLOAT),
        ColumnSpec("paid", Role.BOOLEAN, model_pb2.MODEL_COLUMN_TYPE_BOOLEAN),
        ColumnSpec("created_at", Role.DATETIME, model_pb2.MODEL_COLUMN_TYPE_DATETIME),
    ),
)


class NoHooks:
    def epoch_done(self, epoch: int, loss: float) -> None: ...
    def still_running(self) -> None: ...
    def save_checkpoint(self, state: dict[str, object]) -> None: ...
    def load_checkpoint(self) -> None:
        return None


def orders(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    g = np.arange(1, rows + 1)
    return pd.DataFrame(
        {
            "status": np.array(["new", "paid", "shipped", "returned"])[(g * 31) % 4],
            "amount": np.round(np.exp(rng.random(rows) * 5) + (g % 4) * 20, 2),
            "paid": pd.array(rng.random(rows) < 0.3 + (g % 4) * 0.15, dtype="boolean"),
            "created_at": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.random(rows) * 300, unit="D"),
        }
    )


def train_seconds(
    kind: "model_pb2.ModelKind.ValueType",
    frame: pd.DataFrame,
    spec: TableSpec,
    epochs: int,
    device: torch.device,
) -> float:
    start = time.perf_counter()
    backend_for(kind).fit(frame, spec, TrainOptions(epochs, 500, 1), NoHooks(), device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def compare(
    frame: pd.DataFrame, spec: TableSpec, epochs: int, repeat: int, device: torch.device
) -> None:
    """One line per model: best of `repeat` trainings on the CPU and on `device`, each after a
    one-epoch warm-up on up to 1000 rows."""
    for kind in KINDS:
        best = {}
        for target in (torch.device("cpu"), device):
            train_seconds(kind, frame.head(1000), spec, 1, target)  # warm-up
            best[target.type] = min(
                train_seconds(kind, frame, spec, epochs, target) for _ in range(repeat)
            )
        print(
            f"{model_pb2.ModelKind.Name(kind):24s} cpu {best['cpu']:7.2f}s  "
            f"{device} {best['cuda']:7.2f}s  speed-up x{best['cpu'] / best['cuda']:.1f}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--device", default="cuda:0")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    torch.set_num_threads(os.cpu_count() or 1)
    device = torch.device(args.device)
    torch.cuda.set_device(device)
    frame = orders(args.rows)
    print(
        f"bench/ml_gpu: {args.rows} rows, {args.epochs} epochs, batch 500, best of {args.repeat}; "
        f"cpu {torch.get_num_threads()} threads, {torch.cuda.get_device_name(device)}, "
        f"torch {torch.__version__}",
        flush=True,
    )
    compare(frame, SPEC, args.epochs, args.repeat, device)


if __name__ == "__main__":
    main()
