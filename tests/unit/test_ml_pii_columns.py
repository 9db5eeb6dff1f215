"""Personal data in a synthesized table: the detector `jobs suggest` uses picks the columns, the
generators a generate job uses fill them (a city for a city), each column from its own draw;
a fake model stands in for the learned columns."""

from typing import Any

import pytest

pd = pytest.importorskip("pandas")

from services.engine.schema import Column, Table, TypeFamily  # noqa: E402
from services.ml_worker.spec import Role, TableSpec  # noqa: E402
from services.ml_worker.synthesis import sample_rows  # noqa: E402
from services.ml_worker.tables import spec_for_frame  # noqa: E402
from tests.believable import CITY, E164, EMAIL, HEX, NAME, STREET, ZIP  # noqa: E402
from veilsync.v1 import transformer_pb2  # noqa: E402

pytestmark = pytest.mark.ml

ROWS = 59


def _text(name: str, length: int | None = None) -> Column:
    spelled = f"character varying({length})" if length else "text"
    return Column(name, spelled, TypeFamily.TEXT, True, max_length=length)


CUSTOMERS = Table(
    "public",
    "customers",
    (
        Column("id", "integer", TypeFamily.INTEGER, False),
        _text("first_name", 40),
        _text("last_name"),
        _text("contact"),  # emails under a name that says nothing
        _text("phone", 30),
        _text("city"),
        _text("address"),
        _text("postal_code", 10),
        _text("ssn", 11),
        _text("notes"),
        _text("remarks", 20),
        Column("score", "numeric", TypeFamily.NUMERIC, True),
    ),
    primary_key=("id",),
)


def _frame() -> Any:
    return pd.DataFrame(
        {
            "id": pd.array(range(1, ROWS + 1), dtype="Int64"),
            "first_name": [f"Name{i}" for i in range(ROWS)],
            "last_name": [f"Last{i}" for i in range(ROWS)],
            "contact": [f"person{i}@corp.test" for i in range(ROWS)],
            "phone": [f"+1555{i:07d}" for i in range(ROWS)],
            "city": [f"City {i}" for i in range(ROWS)],
            "address": [f"{i} Main Street" for i in range(ROWS)],
            "postal_code": [f"{10000 + i}" for i in range(ROWS)],
            "ssn": [f"123-45-{i:04d}" for i in range(ROWS)],
            "notes": [f"note {i}" for i in range(ROWS)],
            "remarks": [f"remark {i}" for i in range(ROWS)],
            "score": [float(i) for i in range(ROWS)],
        }
    )


class FakeModel:
    """Samples the learned column as any model would: from what it saw."""

    def sample(self, rows: int, seed: int) -> Any:
        return pd.DataFrame({"score": [float(i % ROWS) for i in range(rows)]})

    def state(self) -> dict[str, Any]:
        return {}


def _generator(spec: TableSpec, name: str) -> str | None:
    column = next(c for c in spec.columns if c.name == name)
    config = transformer_pb2.TransformerConfig.FromString(bytes.fromhex(column.transformer))
    return config.WhichOneof("config")


def test_detected_columns_get_the_generators_of_their_kind() -> None:
    spec = spec_for_frame(CUSTOMERS, _frame(), {})
    roles = {c.name: c.role for c in spec.columns}
    assert roles["score"] is Role.NUMERICAL
    assert {n for n, r in roles.items() if r is Role.PII} == {
        "first_name",
        "last_name",
        "contact",
        "phone",
        "city",
        "address",
        "postal_code",
        "ssn",
        "notes",
        "remarks",
    }
    assert {n: _generator(spec, n) for n in roles if roles[n] is Role.PII} == {
        "first_name": "generate_first_name",
        "last_name": "generate_last_name",
        "contact": "generate_email",
        "phone": "generate_e164_phone_number",
        "city": "generate_city",
        "address": "generate_street_address",
        "postal_code": "generate_zipcode",
        "ssn": "generate_ssn",
        # Free text no detector reads: hashed, never learned (it may hold anything).
        "notes": "transform_hash",
        "remarks": "transform_hash",
    }


def test_sampled_rows_hold_believable_values_and_no_shared_hex() -> None:
    spec = spec_for_frame(CUSTOMERS, _frame(), {})
    rows = sample_rows(FakeModel(), spec, 500, seed=3, offset=0, key=b"k" * 32)
    checks = {
        "first_name": NAME,
        "contact": EMAIL,
        "phone": E164,
        "city": CITY,
        "address": STREET,
        "postal_code": ZIP,
    }
    for name, pattern in checks.items():
        assert rows[name].map(lambda v, p=pattern: bool(p.match(v))).all(), name
        assert not rows[name].map(lambda v: bool(HEX.match(v))).any(), name
    assert rows["score"].tolist() == [float(i % ROWS) for i in range(500)]
    # Each column draws on its own: one column is not a slice of another's digest.
    pairs = zip(rows["notes"], rows["remarks"], strict=True)
    assert not any(notes.startswith(remarks) for notes, remarks in pairs)
    assert rows["notes"].nunique() == 500
    other = sample_rows(FakeModel(), spec, 500, seed=3, offset=0, key=b"k" * 32)
    assert other.equals(rows)
    reseeded = sample_rows(FakeModel(), spec, 500, seed=4, offset=0, key=b"k" * 32)
    assert reseeded["city"].tolist() != rows["city"].tolist()
