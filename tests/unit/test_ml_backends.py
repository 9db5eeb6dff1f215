"""Each model family fits and samples a small frame on the CPU, keys and PII generated
around the learned columns; the first-party VAE resumes from its checkpoint."""

from typing import Any

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
torch = pytest.importorskip("torch")

from services.engine.schema import Column, ForeignKey, Table, TypeFamily  # noqa: E402
from services.ml_worker.backends import backend_for  # noqa: E402
from services.ml_worker.backends.base import TrainOptions  # noqa: E402
from services.ml_worker.spec import Role, TableSpec, build_spec  # noqa: E402
from services.ml_worker.synthesis import sample_rows  # noqa: E402
from veilsync.v1 import model_pb2  # noqa: E402

pytestmark = pytest.mark.ml

ROWS = 120


class FakeHooks:
    def __init__(self, checkpoint: dict[str, Any] | None = None, stop_after: int = 0) -> None:
        self.epochs: list[int] = []
        self.checkpoint = checkpoint
        self.stop_after = stop_after

    def epoch_done(self, epoch: int, loss: float) -> None:
        self.epochs.append(epoch)
        if self.stop_after and epoch >= self.stop_after:
            raise KeyboardInterrupt  # stands in for a worker killed mid-training

    def still_running(self) -> None:
        pass

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        self.checkpoint = state

    def load_checkpoint(self) -> dict[str, Any] | None:
        return self.checkpoint


def _table() -> Table:
    return Table(
        "public",
        "orders",
        (
            Column("id", "integer", TypeFamily.INTEGER, False),
            Column("customer_id", "integer", TypeFamily.INTEGER, False),
            Column("email", "text", TypeFamily.TEXT, True),
            Column("status", "text", TypeFamily.TEXT, False),
            Column("amount", "numeric", TypeFamily.NUMERIC, True),
            Column("paid", "boolean", TypeFamily.BOOLEAN, False),
            Column("created_at", "timestamp", TypeFamily.TEMPORAL, False),
        ),
        primary_key=("id",),
        foreign_keys=(ForeignKey("fk", ("customer_id",), "public", "customers", ("id",)),),
    )


def _frame() -> Any:
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "id": pd.array(range(1, ROWS + 1), dtype="Int64"),
            "customer_id": pd.array(rng.integers(1, 20, ROWS), dtype="Int64"),
            "email": [f"user{i}@example.com" for i in range(ROWS)],
            "status": rng.choice(["new", "paid", "shipped"], ROWS).astype(object),
            "amount": rng.gamma(2.0, 30.0, ROWS).round(2),
            "paid": pd.array(rng.random(ROWS) < 0.6, dtype="boolean"),
            "created_at": pd.Timestamp("2024-01-01")
            + pd.to_timedelta(rng.integers(0, 10**7, ROWS), "s"),
        }
    )


def _spec(frame: Any) -> TableSpec:
    spec = build_spec(_table(), {c: int(frame[c].nunique()) for c in frame}, len(frame), {})
    keys = {"customer_id": [int(v) for v in frame["customer_id"].unique()]}
    return TableSpec(spec.schema, spec.table, spec.columns, keys)


def test_schema_decides_roles() -> None:
    roles = {c.name: c.role for c in _spec(_frame()).columns}
    assert roles == {
        "id": Role.ID,
        "customer_id": Role.FOREIGN_KEY,
        "email": Role.PII,
        "status": Role.CATEGORICAL,
        "amount": Role.NUMERICAL,
        "paid": Role.BOOLEAN,
        "created_at": Role.DATETIME,
    }


@pytest.mark.parametrize(
    "kind",
    [
        model_pb2.MODEL_KIND_GAUSSIAN_COPULA,
        model_pb2.MODEL_KIND_CTGAN,
        model_pb2.MODEL_KIND_TVAE,
        model_pb2.MODEL_KIND_VEILSYNC_VAE,
    ],
)
def test_fit_save_load_sample(kind: int) -> None:
    frame, backend = _frame(), backend_for(kind)  # type: ignore[arg-type]
    spec = _spec(frame)
    hooks = FakeHooks()
    fitted = backend.fit(frame, spec, TrainOptions(2, 50, 7), hooks, torch.device("cpu"))
    assert hooks.epochs[-1] in (1, 2)
    loaded = backend.load(fitted.state(), spec, torch.device("cpu"))
    rows = sample_rows(loaded, spec, 30, seed=3, offset=0, key=b"k" * 32)
    assert list(rows.columns) == [c.name for c in spec.columns]
    assert len(rows) == 30
    assert rows["id"].tolist() == list(range(1, 31))
    assert set(rows["customer_id"]) <= set(frame["customer_id"])
    assert rows["email"].str.contains("@").all()
    assert not set(rows["email"]) & set(frame["email"])
    assert set(rows["status"].dropna()) <= {"new", "paid", "shipped"}


def test_vae_resumes_from_checkpoint() -> None:
    frame, backend = _frame(), backend_for(model_pb2.MODEL_KIND_VEILSYNC_VAE)
    spec = _spec(frame)
    killed = FakeHooks(stop_after=2)
    with pytest.raises(KeyboardInterrupt):
        backend.fit(frame, spec, TrainOptions(4, 50, 7), killed, torch.device("cpu"))
    assert killed.checkpoint is not None and killed.checkpoint["epoch"] == 2
    retried = FakeHooks(checkpoint=killed.checkpoint)
    backend.fit(frame, spec, TrainOptions(4, 50, 7), retried, torch.device("cpu"))
    assert retried.epochs == [3, 4]
