import pyarrow as pa
import pytest

from services.common.errors import InvalidArgumentError
from services.sync_worker.engine.transformers import (
    build_transformer,
    describe_transformers,
    preview,
)
from veilsync.v1 import transformer_pb2 as t

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
NAMES = ["Alice", "Bob", None, "Alice", "Carol", ""]


def run(config: t.TransformerConfig, values: list[str | None], key: bytes = KEY) -> list:
    return build_transformer(config, key).transform(pa.array(values, pa.string())).to_pylist()


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
    from services.sync_worker.engine.transformers.dictionaries import first_names, last_names

    values = first_names().to_pylist() + last_names().to_pylist()
    outputs = run(config, values)
    assert all(o != v for o, v in zip(outputs, values, strict=True))


def test_email_keeps_the_domain_when_asked() -> None:
    config = t.TransformerConfig(transform_email=t.TransformEmail(preserve_domain=True))
    [out] = run(config, ["jane.doe@acme.io"])
    assert out.endswith("@acme.io") and out != "jane.doe@acme.io"
    [plain] = run(CONFIGS["email"], ["jane.doe@acme.io"])
    assert plain.rsplit("@", 1)[1] in {"example.com", "example.net", "example.org"}


def test_hash_length_and_column_max_length() -> None:
    config = t.TransformerConfig(transform_hash=t.TransformHash(length=12))
    [out] = run(config, ["123-45-6789"])
    assert len(out) == 12 and int(out, 16) >= 0
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
