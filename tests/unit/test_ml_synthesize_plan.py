"""A job's synthesized tables in the sync plan, and foreign keys drawn from parent rows."""

import pytest

from services.common.errors import FailedPreconditionError, InvalidArgumentError
from services.engine.planning.sync_plan import build_plan
from services.engine.schema import Column, ForeignKey, Schema, Table, TypeFamily
from veilsync.v1 import job_pb2, model_pb2

pytestmark = pytest.mark.ml


def _schema() -> Schema:
    def col(name: str, nullable: bool = False) -> Column:
        return Column(name=name, data_type="bigint", family=TypeFamily.INTEGER, nullable=nullable)

    customers = Table("public", "customers", (col("id"),), ("id",))
    orders = Table(
        "public",
        "orders",
        (col("id"), col("customer_id"), col("amount", True)),
        ("id",),
        foreign_keys=(ForeignKey("fk", ("customer_id",), "public", "customers", ("id",)),),
    )
    return Schema({t.qualified: t for t in (customers, orders)})


def test_a_synthesized_table_carries_its_model_rows_and_references() -> None:
    job = job_pb2.Job(name="Shop")
    job.synthesize.add(table="orders", kind=model_pb2.MODEL_KIND_VEILSYNC_VAE, row_count=7)
    plan = build_plan(job, _schema(), "src", [])
    by_name = {t.name: t for t in plan.tables}
    assert not by_name["customers"].HasField("synthesize")
    synth = by_name["orders"].synthesize
    assert synth.model == "shop-orders" and synth.row_count == 7
    assert synth.options.epochs == 100 and synth.options.batch_size == 500
    [reference] = synth.references
    assert list(reference.columns) == ["customer_id"]
    assert (reference.referenced_table, list(reference.referenced_columns)) == ("customers", ["id"])


@pytest.mark.parametrize(
    ("item", "field"),
    [
        (job_pb2.SynthesizedTable(table="nope"), "job.synthesize[0].table"),
        (
            job_pb2.SynthesizedTable(table="orders", kind=model_pb2.MODEL_KIND_UPLOADED),
            "job.synthesize[0].kind",
        ),
        (
            job_pb2.SynthesizedTable(
                table="orders",
                kind=model_pb2.MODEL_KIND_CTGAN,
                options=model_pb2.TrainingOptions(epochs=20_000),
            ),
            "job.synthesize[0].options.epochs",
        ),
    ],
)
def test_bad_synthesized_tables_are_refused_naming_the_field(
    item: job_pb2.SynthesizedTable, field: str
) -> None:
    job = job_pb2.Job(name="shop", synthesize=[item])
    with pytest.raises(InvalidArgumentError) as caught:
        build_plan(job, _schema(), "src", [])
    assert caught.value.field == field


def test_foreign_keys_are_drawn_from_the_parent_rows_given() -> None:
    pd = pytest.importorskip("pandas")
    torch = pytest.importorskip("torch")
    from services.ml_worker.backends import backend_for
    from services.ml_worker.backends.base import TrainOptions
    from services.ml_worker.spec import build_spec
    from services.ml_worker.synthesis import ParentKeys, sample_rows
    from tests.unit.test_ml_backends import FakeHooks

    orders = _schema().tables["public.orders"]
    frame = pd.DataFrame(
        {"id": range(1, 41), "customer_id": [1, 2] * 20, "amount": [float(i) for i in range(40)]}
    )
    spec = build_spec(orders, {}, len(frame), {})
    fitted = backend_for(model_pb2.MODEL_KIND_GAUSSIAN_COPULA).fit(
        frame, spec, TrainOptions(1, 50, 1), FakeHooks(), torch.device("cpu")
    )
    parents = [ParentKeys("public.customers", ("customer_id",), [(901,), (902,), (903,)])]
    rows = sample_rows(fitted, spec, 30, 5, 0, b"k", parents)
    assert set(rows["customer_id"]) == {901, 902, 903}
    assert rows["amount"].isna().sum() == 0
    nulled = sample_rows(fitted, spec, 5, 5, 0, b"k", parents, {"amount"})
    assert nulled["amount"].isna().all()
    with pytest.raises(FailedPreconditionError, match="no rows in the destination"):
        sample_rows(
            fitted, spec, 5, 5, 0, b"k", [ParentKeys("public.customers", ("customer_id",), [])]
        )
