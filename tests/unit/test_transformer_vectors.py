"""Known-answer vectors: every keyed transformer's outputs for fixed (key, options, inputs),
read from transformer_vectors.json. A keyed output that changes breaks every join between rows
synced before the change and rows synced after it, so within a version it must never change.

After a deliberate change, bump the transformer's `version` and rewrite its vectors:

    .venv/bin/python -m tests.unit.test_transformer_vectors --regenerate transform_email

A new keyed transformer gets default vectors with `--add-missing`."""

import argparse
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from google.protobuf import json_format

from services.engine.generate.values import OrdinalHashing
from services.engine.schema import TypeFamily
from services.engine.transformers.base import Hashing
from services.engine.transformers.builtin import CATALOG
from veilsync.v1 import transformer_pb2 as t

VECTORS = Path(__file__).with_name("transformer_vectors.json")
REGENERATE = "`.venv/bin/python -m tests.unit.test_transformer_vectors --regenerate {name}`"
KEYED = sorted(name for name, cls in CATALOG.items() if cls.keyed)

Vector = dict[str, Any]

# Inputs of a default vector, by the first of the transformer's type families listed here.
DEFAULT_INPUTS: dict[TypeFamily, list[str | None]] = {
    TypeFamily.TEXT: ["", "a", "Alice", "alice.smith@corp.test", "Ünïcödé ☃", "0042", None],
    TypeFamily.INTEGER: ["0", "1", "-1", "42", "32768", "-9223372036854775808", None],
    TypeFamily.NUMERIC: ["0", "1.5", "-2.25", "1000000", "3.14159", None],
}
ORDINALS: list[str | None] = ["1", "2", "3", "10", "1000", "123456789"]
DEFAULT_KEY = "veilsync known-answer key 0"


def load() -> list[Vector]:
    vectors: list[Vector] = json.loads(VECTORS.read_text())["vectors"]
    return vectors


def outputs_of(vector: Vector) -> list[str | None]:
    """The outputs this code gives for the vector's key, options and inputs."""
    cls = CATALOG[vector["transformer"]]
    config = json_format.ParseDict({cls.name: vector["options"]}, t.TransformerConfig())
    hashing = OrdinalHashing if vector.get("hashing") == "ordinal" else Hashing
    transformer = cls(getattr(config, cls.name), vector["key"].encode(), hashing=hashing)
    values = pa.array(inputs_of(vector), pa.string())
    outputs: list[str | None] = transformer.transform(values, vector.get("max_length")).to_pylist()
    return outputs


def inputs_of(vector: Vector) -> list[str | None]:
    return [case[0] for case in vector["cases"]]


def describe(vector: Vector) -> str:
    extras = [f"options {json.dumps(vector['options'])}", f"key {vector['key']!r}"]
    if "hashing" in vector:
        extras.append(f"hashing {vector['hashing']}")
    if "max_length" in vector:
        extras.append(f"max_length {vector['max_length']}")
    return ", ".join(extras)


def test_the_vectors_cover_every_keyed_transformer() -> None:
    covered = {v["transformer"] for v in load()}
    missing = [name for name in KEYED if name not in covered]
    assert not missing, (
        f"no known-answer vectors for {', '.join(missing)}: add them with "
        "`.venv/bin/python -m tests.unit.test_transformer_vectors --add-missing` "
        "(and add cases for the options that matter to tests/unit/transformer_vectors.json)"
    )
    unknown = sorted(covered - set(CATALOG))
    assert not unknown, f"vectors of transformers no longer in the catalog: {unknown}"


@pytest.mark.parametrize("name", KEYED)
def test_outputs_match_the_known_answers(name: str) -> None:
    cls = CATALOG[name]
    vectors = [v for v in load() if v["transformer"] == name]
    for vector in vectors:
        assert vector["version"] == cls.version, (
            f"{name}'s vectors are for version {vector['version']} but the code is at version "
            f"{cls.version}: regenerate them with {REGENERATE.format(name=name)}"
        )
        got = outputs_of(vector)
        for (value, expected), actual in zip(vector["cases"], got, strict=True):
            assert actual == expected, (
                f"{name} version {cls.version} changed its output for {value!r} "
                f"({describe(vector)}): expected {expected!r}, got {actual!r}. Rows synced "
                "before this change would no longer join with rows synced after it: revert it, "
                f"or bump the transformer's version ({cls.__module__}.{cls.__name__}.version) "
                f"and regenerate its vectors with {REGENERATE.format(name=name)}"
            )


def default_vectors(name: str) -> list[Vector]:
    """Vectors of a transformer's default options over inputs of its type, plus, for a
    generator, the row ordinals a generate job hashes its own way."""
    cls = CATALOG[name]
    family = next((f for f in DEFAULT_INPUTS if f in cls.data_types), TypeFamily.TEXT)
    vectors = [vector(name, {}, DEFAULT_INPUTS[family])]
    if name.startswith("generate_"):
        vectors.append(vector(name, {}, ORDINALS, hashing="ordinal"))
    return vectors


def vector(name: str, options: dict[str, Any], inputs: list[str | None], **extra: Any) -> Vector:
    """A vector with its outputs computed by this code."""
    made: Vector = {
        "transformer": name,
        "version": CATALOG[name].version,
        "key": extra.pop("key", DEFAULT_KEY),
        "options": options,
        **extra,
        "cases": [[value, None] for value in inputs],
    }
    return with_outputs(made)


def with_outputs(vector: Vector) -> Vector:
    """The vector with the outputs this code gives, at this code's version."""
    vector["version"] = CATALOG[vector["transformer"]].version
    outputs = outputs_of(vector)
    vector["cases"] = [[c[0], out] for c, out in zip(vector["cases"], outputs, strict=True)]
    return vector


def write(vectors: list[Vector]) -> None:
    ordered = sorted(vectors, key=lambda v: v["transformer"])  # stable: cases keep their order
    document = {
        "about": (
            "Known-answer vectors of every keyed transformer: tests/unit/"
            "test_transformer_vectors.py fails when an output changes. Edit inputs and options "
            "freely; outputs are written by that module's --regenerate, only together with a "
            "version bump."
        ),
        "vectors": ordered,
    }
    VECTORS.write_text(formatted(document))


def formatted(document: dict[str, Any]) -> str:
    """JSON with one vector's settings on a line and each (input, output) pair on its own, so a
    changed output shows as one changed line."""

    def dump(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    blocks = []
    for v in document["vectors"]:
        settings = ", ".join(f"{dump(k)}: {dump(x)}" for k, x in v.items() if k != "cases")
        pairs = ",\n".join(f"    {dump(case)}" for case in v["cases"])
        blocks.append(f'  {{{settings}, "cases": [\n{pairs}\n  ]}}')
    vectors = ",\n".join(blocks)
    return f'{{\n "about": {dump(document["about"])},\n "vectors": [\n{vectors}\n ]\n}}\n'


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--regenerate",
        nargs="*",
        default=[],
        metavar="NAME",
        help="recompute these transformers' outputs and versions (after a version bump)",
    )
    parser.add_argument(
        "--add-missing", action="store_true", help="default vectors for uncovered transformers"
    )
    args = parser.parse_args()
    vectors = load() if VECTORS.exists() else []
    for name in args.regenerate:
        if name not in CATALOG:
            parser.error(f"no transformer {name}")
    vectors = [with_outputs(v) if v["transformer"] in args.regenerate else v for v in vectors]
    if args.add_missing:
        covered = {v["transformer"] for v in vectors}
        vectors += [v for name in KEYED if name not in covered for v in default_vectors(name)]
    write(vectors)


if __name__ == "__main__":
    main()
