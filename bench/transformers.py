"""Values per second of every built-in transformer on a column of 1M values, next to Faker
called once per value (the usual way to anonymize in Python), in the same process.

    .venv/bin/python -m bench.transformers [--rows N] [--faker-rows N] [--repeat N] [--only ...]

Faker runs on a smaller sample (it is slow) and its rate is per value, so the ratio compares
like with like. Transformers without a Faker counterpart show "-".
"""

import argparse
import time
from collections.abc import Callable

import pyarrow as pa
from faker import Faker

from services.engine.transformers import ColumnBounds, Transformer, build_transformer
from services.engine.transformers.builtin import CATALOG
from veilsync.v1 import transformer_pb2 as t

KEY = b"benchmark-key-0123456789"
TARGETS = {"transform_email": 1e6, "transform_first_name": 1e6, "transform_hash": 1e6}
OPTIONS = {
    "generate_categorical": t.GenerateCategorical(categories=["red", "green", "blue"]),
    "transform_int64": t.TransformInt64(randomization_range_min=-5, randomization_range_max=5),
    "transform_float64": t.TransformFloat64(randomization_range_min=-1, randomization_range_max=1),
    "transform_character_scramble": t.TransformCharacterScramble(regex="[0-9]+"),
    "transform_expression": t.TransformExpression(code='upper(value[:1]) + "***"'),
}
BOUNDS = {"transform_float64": ColumnBounds.of("numeric(12,2)")}


def inputs(name: str, rows: int) -> pa.Array:
    """A column shaped like what the transformer meets in PostgreSQL's text form."""
    numbers = pa.array(range(1, rows + 1), pa.int64()).cast(pa.string())
    if name in ("transform_int64", "transform_scramble_identity"):
        return numbers
    if name == "transform_float64":
        return pa.array([f"{i / 100:.2f}" for i in range(rows)], pa.string())
    if name == "transform_int64_phone_number":
        return pa.array([5_550_000_000 + i for i in range(rows)], pa.int64()).cast(pa.string())
    if name in ("transform_phone_number", "transform_e164_phone_number"):
        return pa.array([f"+1555{i:07d}" for i in range(rows)], pa.string())
    if name == "transform_uuid":
        return pa.array([f"00000000-0000-4000-8000-{i:012x}" for i in range(rows)], pa.string())
    if name in ("transform_first_name", "transform_last_name", "transform_full_name"):
        names = ["Ann", "Bob", "Carol", "Dmitri", "Eve"]
        return pa.array([f"{names[i % 5]}{i}" for i in range(rows)], pa.string())
    return pa.array([f"user{i}@corp.test" for i in range(rows)], pa.string())


def faker_calls(fake: Faker) -> dict[str, Callable[[], object]]:
    return {
        "transform_email": fake.email,
        "generate_email": fake.email,
        "transform_first_name": fake.first_name,
        "generate_first_name": fake.first_name,
        "transform_last_name": fake.last_name,
        "generate_last_name": fake.last_name,
        "transform_full_name": fake.name,
        "generate_full_name": fake.name,
        "transform_hash": fake.sha256,
        "generate_sha256hash": fake.sha256,
        "generate_bool": fake.pybool,
        "generate_card_number": fake.credit_card_number,
        "generate_city": fake.city,
        "generate_state": fake.state_abbr,
        "generate_zipcode": fake.zipcode,
        "generate_country": fake.country_code,
        "generate_street_address": fake.street_address,
        "generate_full_address": fake.address,
        "generate_e164_phone_number": fake.msisdn,
        "transform_e164_phone_number": fake.msisdn,
        "generate_string_phone_number": fake.msisdn,
        "transform_phone_number": fake.phone_number,
        "generate_username": fake.user_name,
        "generate_float64": fake.pyfloat,
        "transform_float64": fake.pyfloat,
        "generate_int64": fake.pyint,
        "transform_int64": fake.pyint,
        "generate_ssn": fake.ssn,
        "generate_string": fake.pystr,
        "transform_string": fake.pystr,
        "generate_unixtimestamp": fake.unix_time,
        "generate_utctimestamp": fake.date_time,
        "generate_uuid": fake.uuid4,
        "transform_uuid": fake.uuid4,
        "generate_business_name": fake.company,
        "generate_ip_address": fake.ipv4,
        "transform_character_scramble": fake.bothify,
    }


def ours_per_second(transformer: Transformer, column: pa.Array, repeat: int) -> float:
    """The best of `repeat` runs: on a shared machine the fastest run is the one least
    disturbed by other processes."""
    transformer.transform(column[:1000])  # word lists and caches built outside the clock
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        transformer.transform(column)
        best = min(best, time.perf_counter() - start)
    return len(column) / best


def faker_per_second(call: Callable[[], object], count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        call()
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--faker-rows", type=int, default=5_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", nargs="*", default=None)
    args = parser.parse_args()
    fake = Faker("en_US")
    Faker.seed(0)
    calls = faker_calls(fake)
    print(f"{'transformer':32} {'values/s':>12} {'faker/s':>10} {'ratio':>8}")
    missed = []
    for name in sorted(args.only or CATALOG):
        config = t.TransformerConfig()
        getattr(config, name).SetInParent()
        if name in OPTIONS:
            getattr(config, name).CopyFrom(OPTIONS[name])
        transformer = build_transformer(config, KEY, bounds=BOUNDS.get(name))
        ours = ours_per_second(transformer, inputs(name, args.rows), args.repeat)
        call = calls.get(name)
        theirs = faker_per_second(call, args.faker_rows) if call else None
        ratio = f"{ours / theirs:7.1f}x" if theirs else "       -"
        faker_text = f"{theirs:10,.0f}" if theirs else "         -"
        print(f"{name:32} {ours:12,.0f} {faker_text} {ratio}")
        if ours < TARGETS.get(name, 0):
            missed.append(f"{name}: {ours:,.0f} values/s, target {TARGETS[name]:,.0f}")
    for line in missed:
        print("target missed:", line)


if __name__ == "__main__":
    main()
