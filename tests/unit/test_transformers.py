import re
from collections.abc import Sequence

import pyarrow as pa
import pytest

from services.common.errors import InvalidArgumentError
from services.engine.transformers import (
    build_transformer,
    describe_transformers,
    preview,
)
from veilsync.v1 import transformer_pb2 as t

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
NAMES = ["Alice", "Bob", None, "Alice", "Carol", ""]


def run(
    config: t.TransformerConfig, values: Sequence[str | None], key: bytes = KEY
) -> list[str | None]:
    out: list[str | None] = (
        build_transformer(config, key).transform(pa.array(list(values), pa.string())).to_pylist()
    )
    return out


CONFIGS = {
    "hash": t.TransformerConfig(transform_hash=t.TransformHash()),
    "email": t.TransformerConfig(transform_email=t.TransformEmail()),
    "first": t.TransformerConfig(transform_first_name=t.TransformFirstName()),
    "last": t.TransformerConfig(transform_last_name=t.TransformLastName()),
}


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_keyed_transformers_are_deterministic_and_keep_nulls(config: t.TransformerConfig) -> None:
    first, second = run(config, NAMES), run(config, NAMES)
    assert first == second
    assert first[2] is None
    assert first[0] == first[3]  # same input, same output within a batch
    assert run(config, ["Alice"]) == [first[0]]  # and across batches


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_a_different_key_gives_different_outputs(config: t.TransformerConfig) -> None:
    values = [f"person{i}@corp.test" for i in range(50)]
    assert run(config, values) != run(config, values, OTHER_KEY)


@pytest.mark.parametrize("config", CONFIGS.values(), ids=CONFIGS.keys())
def test_no_output_equals_its_input(config: t.TransformerConfig) -> None:
    from services.engine.transformers.dictionaries import first_names, last_names

    values = first_names().to_pylist() + last_names().to_pylist()
    outputs = run(config, values)
    assert all(o != v for o, v in zip(outputs, values, strict=True))


def test_email_keeps_the_domain_when_asked() -> None:
    config = t.TransformerConfig(transform_email=t.TransformEmail(preserve_domain=True))
    [out] = run(config, ["jane.doe@acme.io"])
    assert out is not None and out.endswith("@acme.io") and out != "jane.doe@acme.io"
    [plain] = run(CONFIGS["email"], ["jane.doe@acme.io"])
    assert plain is not None and plain.rsplit("@", 1)[1] in {
        "example.com",
        "example.net",
        "example.org",
    }


def test_hash_length_and_column_max_length() -> None:
    config = t.TransformerConfig(transform_hash=t.TransformHash(length=12))
    [out] = run(config, ["123-45-6789"])
    assert out is not None and re.fullmatch(r"[0-9a-f]{12}", out)
    clipped = build_transformer(CONFIGS["email"], KEY).transform(pa.array(["a@b.c"]), 10)
    assert len(clipped[0].as_py()) == 10


def test_null_and_passthrough() -> None:
    assert run(t.TransformerConfig(null=t.Null()), ["a", None]) == [None, None]
    assert run(t.TransformerConfig(passthrough=t.Passthrough()), ["a", None]) == ["a", None]


def test_mask_keeps_edges_and_never_leaks_short_values() -> None:
    config = t.TransformerConfig(mask=t.Mask(keep_first=1, keep_last=2))
    assert run(config, ["4111111111111111", "ab"]) == ["4*************11", "**"]


def test_unset_transformer_is_invalid() -> None:
    with pytest.raises(InvalidArgumentError, match="no transformer"):
        build_transformer(t.TransformerConfig(), KEY, field="job.mappings[0].columns[x]")


def test_catalog_and_preview() -> None:
    names = [info.name for info in describe_transformers()]
    assert {"transform_email", "transform_hash", "null", "passthrough"} <= set(names)
    assert names == sorted(names)
    assert preview(CONFIGS["first"], ["Alice", None], b"")[1] is None
    with pytest.raises(InvalidArgumentError, match="at most"):
        preview(CONFIGS["first"], ["x"] * 1001, KEY)


# --- The whole catalog -------------------------------------------------------------------

from services.engine.transformers import ColumnBounds  # noqa: E402
from services.engine.transformers.builtin import CATALOG  # noqa: E402
from services.engine.transformers.random_keys import derive_run_key  # noqa: E402

OPTIONS = {
    "generate_categorical": t.GenerateCategorical(categories=["red", "green"]),
    "transform_int64": t.TransformInt64(randomization_range_min=-9, randomization_range_max=9),
    "transform_float64": t.TransformFloat64(randomization_range_min=-1, randomization_range_max=1),
    "transform_expression": t.TransformExpression(code="hash(value, 16)"),
}
NUMERIC_INPUTS = {
    "transform_int64": ["12", "-7", "12", "40000"],
    "transform_float64": ["1.50", "-2.25", "1.50", "300"],
    "transform_int64_phone_number": ["5551234567", "7", "5551234567", "44"],
    "transform_scramble_identity": ["1", "2", "1", "3000000000"],
}
MARKERS = {"passthrough", "null", "generate_default"}


def config_of(name: str) -> t.TransformerConfig:
    config = t.TransformerConfig()
    getattr(config, name).SetInParent()
    if name in OPTIONS:
        getattr(config, name).CopyFrom(OPTIONS[name])
    return config


def sample(name: str) -> list[str | None]:
    values: list[str | None] = list(NUMERIC_INPUTS.get(name, ["a@b.io", "Ann", "a@b.io", "x"]))
    return [*values[:2], None, *values[2:]]


def test_catalog_names_are_the_oneof_fields() -> None:
    fields = {f.name for f in t.TransformerConfig.DESCRIPTOR.oneofs_by_name["config"].fields}
    # user_defined names a saved config: resolved before any transformer is built.
    assert set(CATALOG) == fields - {"user_defined"}
    for info in describe_transformers():
        assert info.description and info.data_types


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_every_transformer_keeps_nulls_and_is_keyed(name: str) -> None:
    config, values = config_of(name), sample(name)
    first = run(config, values)
    assert first[2] is None and len(first) == len(values)
    assert first == run(config, values)  # same key: same outputs
    assert first[0] == first[3]  # same input: same output, within a batch
    if name not in MARKERS | {"mask"}:
        assert all(isinstance(v, str) for i, v in enumerate(first) if i != 2)


@pytest.mark.parametrize("name", sorted(set(CATALOG) - MARKERS - {"mask", "generate_bool"}))
def test_random_mode_differs_run_to_run_and_from_keyed(name: str) -> None:
    config, values = config_of(name), sample(name) * 4
    values = [
        v if v is None else f"{v}{i}" if name not in NUMERIC_INPUTS else v
        for i, v in enumerate(values)
    ]
    keyed = run(config, values)
    one = build_transformer(config, KEY, random=True).transform(pa.array(values)).to_pylist()
    two = build_transformer(config, KEY, random=True).transform(pa.array(values)).to_pylist()
    assert one != two and one != keyed
    assert [v is None for v in one] == [v is None for v in values]
    # Within a run every instance (table, key range, retry) shares the run's key.
    runs = [
        derive_run_key(KEY, "run-a"),
        derive_run_key(KEY, "run-a"),
        derive_run_key(KEY, "run-b"),
    ]
    a, again, b = (
        build_transformer(config, KEY, random=True, run_key=r).transform(pa.array(values))
        for r in runs
    )
    assert a.to_pylist() == again.to_pylist() != b.to_pylist()
    unrandom = build_transformer(config, KEY, run_key=runs[0]).transform(pa.array(values))
    assert unrandom.to_pylist() == keyed  # a run's key is for random transformers only


def test_run_keys_are_one_per_run_and_job() -> None:
    assert derive_run_key(KEY, "run-1") == derive_run_key(KEY, "run-1")
    assert derive_run_key(KEY, "run-1") != derive_run_key(KEY, "run-2")
    assert derive_run_key(KEY, "run-1") != derive_run_key(b"another job key", "run-1")


@pytest.mark.parametrize("name", sorted(set(CATALOG) - MARKERS - set(NUMERIC_INPUTS)))
def test_outputs_respect_the_column_length(name: str) -> None:
    values = ["someone.with.a.long.name@example-company.test", "x"]
    bounded = build_transformer(config_of(name), KEY, bounds=ColumnBounds(max_length=8))
    for out in bounded.transform(pa.array(values)).to_pylist() + run(config_of(name), values):
        assert out is None or len(out) <= 64
    assert all(len(o) <= 8 for o in bounded.transform(pa.array(values)).to_pylist())
    clipped = build_transformer(config_of(name), KEY).transform(pa.array(values), 5)
    assert all(len(o) <= 5 for o in clipped.to_pylist())


def test_typed_batches_are_cast_to_text_first() -> None:
    config = config_of("transform_scramble_identity")
    typed = build_transformer(config, KEY).transform(pa.array([1, 2, None], pa.int64()))
    assert typed.to_pylist() == run(config, ["1", "2", None])
