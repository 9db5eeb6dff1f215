"""A key's transformer reaches every column that references it (planning.key_propagation):
planning applies it, validation reports what it refuses, and both say the same."""

from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.common.errors import InvalidArgumentError
from services.engine.connectors.base import Database
from services.engine.planning.drift import job_violations, snapshot
from services.engine.planning.job_plan import JobShape, effective_job
from services.engine.planning.key_propagation import ColumnRef, Config, describe, propagate
from services.engine.planning.rules import Kind, resolve_mappings
from services.engine.planning.sync_plan import build_plan
from services.engine.planning.virtual_keys import with_virtual_foreign_keys
from services.engine.schema import Column, ForeignKey, Schema, Table, TypeFamily
from veilsync.v1 import job_pb2
from veilsync.v1 import transformer_pb2 as t

SCRAMBLE = t.TransformerConfig(transform_scramble_identity=t.TransformScrambleIdentity())
OFFSET = t.TransformerConfig(
    transform_int64=t.TransformInt64(randomization_range_min=-5, randomization_range_max=5)
)
WIDER = t.TransformerConfig(
    transform_int64=t.TransformInt64(randomization_range_min=-5, randomization_range_max=6)
)
PASSTHROUGH = t.TransformerConfig(passthrough=t.Passthrough())


def table(qualified: str, *columns: str, key: tuple[str, ...] = ("id",), **refs: str) -> Table:
    """Bigint columns (`id` and `columns`); refs: referencing column -> "schema.table.column"
    (a composite foreign key names its columns joined by "+", its referenced ones alike)."""
    schema, name = qualified.split(".")
    names = dict.fromkeys(("id", *columns, *(c for cs in refs for c in cs.split("+"))))
    fks = []
    for columns_, target in refs.items():
        ref_schema, ref_table, ref_columns = target.split(".")
        fks.append(
            ForeignKey(
                f"{name}_{columns_}_fk",
                tuple(columns_.split("+")),
                ref_schema,
                ref_table,
                tuple(ref_columns.split("+")),
            )
        )
    return Table(
        schema,
        name,
        tuple(Column(c, "bigint", TypeFamily.INTEGER, nullable=c not in key) for c in names),
        primary_key=key,
        foreign_keys=tuple(fks),
    )


def schema_of(*tables: Table) -> Schema:
    return Schema({t.qualified: t for t in tables})


# customers <- accounts (keyed by its reference) <- statements; customers refer each other;
# billing.invoices refers across schemas; orders <- parcels by a composite key.
SHOP = schema_of(
    table("public.customers", "email_id", referred_by="public.customers.id"),
    table("public.accounts", key=("customer_id",), customer_id="public.customers.id"),
    table("public.statements", account_customer_id="public.accounts.customer_id"),
    table("billing.invoices", customer_id="public.customers.id"),
    table("public.orders", "region", "order_no", key=("region", "order_no")),
    table("public.parcels", **{"region+order_no": "public.orders.region+order_no"}),
    table("public.notes", "customer_ref"),
)


def job(*virtual: tuple[str, str, str, str], **mappings: dict[str, Config]) -> job_pb2.Job:
    """mappings by table ("billing__invoices" for billing.invoices); virtual foreign keys as
    (table, column, referenced table, referenced column)."""
    spec = job_pb2.Job(name="j")
    for name, columns in mappings.items():
        spec.mappings.add(table=name.replace("__", "."), columns=columns)
    for child, column, parent, key in virtual:
        spec.source.virtual_foreign_keys.add(
            table=child, columns=[column], references_table=parent, references_columns=[key]
        )
    return spec


def applied(spec: job_pb2.Job, schema: Schema = SHOP) -> dict[str, str]:
    """What planning applies, column by column, as messages name transformers."""
    keyed = with_virtual_foreign_keys(schema, spec.source.virtual_foreign_keys)
    return {
        f"{table}.{column}": describe(config)
        for table, columns in resolve_mappings(spec, keyed).items()
        for column, config in columns.items()
    }


def refused(spec: job_pb2.Job, schema: Schema = SHOP) -> list[tuple[Kind, str, str, str]]:
    """Validation's errors; planning refuses the first of them, word for word."""
    found = [v for v in job_violations(spec, schema, None) if v.error]
    if found:
        with pytest.raises(InvalidArgumentError) as raised:
            build_plan(spec, schema, "src", [])
        assert (raised.value.field, raised.value.description) == (
            found[0].field,
            found[0].description,
        )
    else:
        build_plan(spec, schema, "src", [])
    return [(v.kind, v.field, f"{v.table}.{v.column}", v.description) for v in found]


def test_a_key_transformer_reaches_its_references_transitively_and_across_schemas() -> None:
    spec = job(customers={"id": SCRAMBLE})
    assert refused(spec) == []
    assert applied(spec) == {
        "public.customers.id": "transform_scramble_identity",
        "public.customers.referred_by": "transform_scramble_identity",
        "public.accounts.customer_id": "transform_scramble_identity",
        # accounts.customer_id is a key too: it passes the transformer on.
        "public.statements.account_customer_id": "transform_scramble_identity",
        "billing.invoices.customer_id": "transform_scramble_identity",
    }
    # The plan a run follows carries the inherited transformer.
    plan = build_plan(spec, SHOP, "src", [])
    invoices = next(p for p in plan.tables if p.name == "invoices")
    assert next(c for c in invoices.columns if c.name == "customer_id").transformer == SCRAMBLE


def test_composite_keys_propagate_column_by_column() -> None:
    spec = job(orders={"order_no": OFFSET})
    assert refused(spec) == []
    assert applied(spec) == {
        "public.orders.order_no": describe(OFFSET),
        "public.parcels.order_no": describe(OFFSET),
    }


def test_virtual_foreign_keys_propagate_like_declared_ones() -> None:
    virtual = ("notes", "customer_ref", "customers", "id")
    spec = job(virtual, customers={"id": SCRAMBLE})
    assert refused(spec) == []
    assert applied(spec)["public.notes.customer_ref"] == "transform_scramble_identity"
    # Without the virtual key the notes are none of the key's business.
    assert "public.notes.customer_ref" not in applied(job(customers={"id": SCRAMBLE}))
    conflicting = job(virtual, customers={"id": SCRAMBLE}, notes={"customer_ref": OFFSET})
    assert [kind for kind, *_ in refused(conflicting)] == [Kind.INCONSISTENT_KEY]
    # A virtual key that does not fit is reported as planning refuses it, and not followed.
    broken = job(("notes", "nope", "customers", "id"), customers={"id": SCRAMBLE})
    assert [(kind, field) for kind, field, *_ in refused(broken)] == [
        (Kind.UNKNOWN_COLUMN, "job.source.virtual_foreign_keys[0].columns")
    ]


def test_a_different_explicit_transformer_is_refused_naming_both_columns() -> None:
    spec = job(customers={"id": OFFSET}, billing__invoices={"customer_id": SCRAMBLE})
    assert refused(spec) == [
        (
            Kind.INCONSISTENT_KEY,
            "job.mappings[1].columns[customer_id]",
            "billing.invoices.customer_id",
            "billing.invoices.customer_id maps transform_scramble_identity but it references "
            "public.customers.id, which maps transform_int64 {randomization_range_min: -5 "
            "randomization_range_max: 5}: a reference must carry its key's transformer; drop "
            "the mapping on billing.invoices.customer_id to inherit it",
        )
    ]
    # Same name, other options; same options, random mode: different transformers too.
    random = t.TransformerConfig()
    random.CopyFrom(OFFSET)
    random.random = True
    for other in (WIDER, random):
        spec = job(customers={"id": OFFSET}, billing__invoices={"customer_id": other})
        [(_, _, _, why)] = refused(spec)
        assert f"maps {describe(other)} but" in why
    assert describe(random).endswith("(random)")
    # The key's own transformer repeated is what it would inherit anyway.
    same = job(customers={"id": OFFSET}, billing__invoices={"customer_id": OFFSET})
    assert refused(same) == []


def test_a_conflict_with_an_inherited_transformer_names_where_it_comes_from() -> None:
    spec = job(customers={"id": SCRAMBLE}, statements={"account_customer_id": OFFSET})
    [(kind, field, column, why)] = refused(spec)
    assert (kind, field, column) == (
        Kind.INCONSISTENT_KEY,
        "job.mappings[1].columns[account_customer_id]",
        "public.statements.account_customer_id",
    )
    assert (
        "references public.accounts.customer_id, which inherits transform_scramble_identity "
        "from public.customers.id" in why
    )


def test_a_reference_transformed_under_an_unmapped_key_is_refused() -> None:
    [(kind, _, column, why)] = refused(job(billing__invoices={"customer_id": SCRAMBLE}))
    assert (kind, column) == (Kind.INCONSISTENT_KEY, "billing.invoices.customer_id")
    assert "public.customers.id, which is copied unchanged" in why
    # Copying a reference unchanged under a key copied unchanged is no transformation at all.
    assert refused(job(billing__invoices={"customer_id": PASSTHROUGH})) == []


def test_keys_that_disagree_on_a_column_they_share_are_refused() -> None:
    schema = schema_of(
        table("public.customers"),
        table("public.users"),
        table("public.links", owner_id="public.customers.id"),
    )
    spec = job(
        ("links", "owner_id", "users", "id"), customers={"id": SCRAMBLE}, users={"id": OFFSET}
    )
    [(kind, field, column, why)] = refused(spec, schema)
    assert (kind, field, column) == (Kind.INCONSISTENT_KEY, "job.mappings", "public.links.owner_id")
    assert why == (
        "public.links.owner_id references public.users.id, which maps "
        f"{describe(OFFSET)}, and public.customers.id, which maps transform_scramble_identity: "
        "keys one column references must carry one transformer"
    )


def test_an_inherited_transformer_must_fit_the_referencing_column() -> None:
    notes = Table(
        "public", "notes", (Column("id", "bigint", TypeFamily.INTEGER, False),
                            Column("customer_code", "text", TypeFamily.TEXT, True)),
        primary_key=("id",),
    )  # fmt: skip
    schema = schema_of(table("public.customers"), notes)
    spec = job(("notes", "customer_code", "customers", "id"), customers={"id": SCRAMBLE})
    [(kind, field, column, why)] = refused(spec, schema)
    # Reported on the key's mapping: that is the one to change.
    assert (kind, field, column) == (
        Kind.TYPE_MISMATCH,
        "job.mappings[0].columns[id]",
        "public.notes.customer_code",
    )
    assert why.startswith(
        "public.notes.customer_code inherits transform_scramble_identity from "
        "public.customers.id: transform_scramble_identity accepts integer columns, not text"
    )


def test_the_effective_job_writes_out_what_runs_apply() -> None:
    spec = job(
        ("notes", "customer_ref", "customers", "id"),
        accounts={"id": OFFSET},
        customers={"id": SCRAMBLE},
    )
    shape = JobShape(spec, [], "src", cast(Database, None), SHOP)
    effective = effective_job(shape)
    mapped = {m.table: dict(m.columns) for m in effective.mappings}
    assert mapped == {
        # Tables the job maps keep their place and spelling, with inherited columns added...
        "accounts": {"id": OFFSET, "customer_id": SCRAMBLE},
        "customers": {"id": SCRAMBLE, "referred_by": SCRAMBLE},
        # ... the others follow, qualified, in the schema's order.
        "public.statements": {"account_customer_id": SCRAMBLE},
        "billing.invoices": {"customer_id": SCRAMBLE},
        "public.notes": {"customer_ref": SCRAMBLE},
    }
    assert [m.table for m in effective.mappings][:2] == ["accounts", "customers"]
    assert effective.source == spec.source and effective.name == spec.name
    assert len(spec.mappings) == 2  # the job itself is left as saved
    bad = job(billing__invoices={"customer_id": SCRAMBLE})
    with pytest.raises(InvalidArgumentError, match="copied unchanged"):
        effective_job(JobShape(bad, [], "src", cast(Database, None), SHOP))


def test_a_new_reference_to_a_mapped_key_is_no_unmapped_column() -> None:
    saved = snapshot(SHOP)
    del saved["billing.invoices"]["customer_id"], saved["public.notes"]["customer_ref"]
    found = job_violations(job(customers={"id": SCRAMBLE}), SHOP, saved)
    # It inherits the key's transformer; the other new column is copied as it is.
    assert [(v.kind, v.table, v.column) for v in found] == [
        (Kind.UNMAPPED_NEW_COLUMN, "public.notes", "customer_ref")
    ]


# Property: random reference graphs between columns, random mappings, against the definition
# written the slow way (every column's set of explicit transformers reachable upwards).
TABLES = [f"public.t{i}" for i in range(4)]
COLUMNS = ("id", "a", "b")
CONFIGS = [SCRAMBLE, OFFSET, WIDER]
column_refs = st.tuples(st.sampled_from(TABLES), st.sampled_from(COLUMNS))


def reference_propagation(
    references: list[tuple[ColumnRef, ColumnRef]], explicit: dict[ColumnRef, Config]
) -> dict[ColumnRef, Config] | None:
    """Each column's transformer, or None when some reference's two ends would differ."""

    def origins(column: ColumnRef, seen: frozenset[ColumnRef]) -> list[Config]:
        if column in explicit:
            return [explicit[column]]
        found: list[Config] = []
        for child, key in references:
            if child == column and key not in seen:
                found += [c for c in origins(key, seen | {key}) if c not in found]
        return found

    effective: dict[ColumnRef, Config] = {}
    for column in {c for pair in references for c in pair} | set(explicit):
        reached = origins(column, frozenset({column}))
        if len(reached) > 1:
            return None
        if reached:
            effective[column] = reached[0]
    if any(effective.get(child) != effective.get(key) for child, key in references):
        return None
    return effective


def graph_schema(pairs: list[tuple[ColumnRef, ColumnRef]]) -> Schema:
    """TABLES, each with COLUMNS, and a one-column foreign key per pair (column, key)."""
    return schema_of(
        *(
            Table(
                *qualified.split("."),
                tuple(Column(c, "bigint", TypeFamily.INTEGER, True) for c in COLUMNS),
                foreign_keys=tuple(
                    ForeignKey(f"fk{i}", (column[1],), *key[0].split("."), (key[1],))
                    for i, (column, key) in enumerate(pairs)
                    if column[0] == qualified
                ),
            )
            for qualified in TABLES
        )
    )


@given(
    st.lists(st.tuples(column_refs, column_refs), max_size=8),
    st.dictionaries(column_refs, st.sampled_from(range(len(CONFIGS))), max_size=4),
)
def test_propagation_matches_its_definition(
    pairs: list[tuple[ColumnRef, ColumnRef]], mapped: dict[ColumnRef, int]
) -> None:
    explicit = {column: CONFIGS[i] for column, i in mapped.items()}
    expected = reference_propagation(pairs, explicit)
    found = propagate(graph_schema(pairs), explicit)
    assert (expected is None) == any(found.conflicts())
    if expected is not None:
        assert dict(found.effective) == expected
