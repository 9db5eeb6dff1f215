"""Emails, names, phones and free text: their options and formats."""

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.common.errors import DataRejectedError
from services.engine.transformers import ColumnBounds, build_transformer
from services.engine.transformers.chars import scramble
from services.engine.transformers.dictionaries import first_names
from services.engine.transformers.prf import mix
from veilsync.v1 import transformer_pb2 as t

KEY = b"k" * 32
SCRAMBLE = t.TransformerConfig(transform_character_scramble=t.TransformCharacterScramble())


def run(
    config: t.TransformerConfig, values: Sequence[str | None], **kw: object
) -> list[str | None]:
    transformer = build_transformer(config, KEY, **kw)  # type: ignore[arg-type]
    out: list[str | None] = transformer.transform(pa.array(list(values), pa.string())).to_pylist()
    return out


def email(**options: object) -> t.TransformerConfig:
    return t.TransformerConfig(transform_email=t.TransformEmail(**options))  # type: ignore[arg-type]


def test_email_preserve_length_keeps_the_length_and_domain() -> None:
    values = ["jane.doe@acme.io", "a.very.long.local.part.indeed@corp.example.org"]
    out = run(email(preserve_domain=True, preserve_length=True), values)
    for before, after in zip(values, out, strict=True):
        assert after and len(after) == len(before) and after != before
        assert after.split("@")[1] == before.split("@")[1]


def test_excluded_domains_are_the_exceptions_to_preserve_domain() -> None:
    values = ["a@keep.io", "b@other.io"]
    kept = run(email(excluded_domains=["KEEP.io"]), values)
    assert kept[0] and kept[0].endswith("@keep.io") and not kept[0].startswith("a@")
    assert kept[1] and kept[1].split("@")[1].startswith("example.")
    flipped = run(email(preserve_domain=True, excluded_domains=["keep.io"]), values)
    assert flipped[0] and flipped[0].split("@")[1].startswith("example.")
    assert flipped[1] and flipped[1].endswith("@other.io")


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        (t.INVALID_EMAIL_ACTION_NULL, None),
        (t.INVALID_EMAIL_ACTION_PASSTHROUGH, "not an email"),
    ],
)
def test_invalid_email_actions(action: int, expected: str | None) -> None:
    out = run(email(invalid_email_action=action), ["x@y.io", "not an email"])
    assert out[1] == expected and out[0] and "@example." in out[0]


def test_invalid_emails_can_be_rejected_without_echoing_them() -> None:
    with pytest.raises(DataRejectedError) as err:
        run(email(invalid_email_action=t.INVALID_EMAIL_ACTION_REJECT), ["secret-value", "a@b.io"])
    assert "secret-value" not in str(err.value) and "1 values" in str(err.value)


def test_emails_cut_to_the_column_keep_their_domain() -> None:
    out = run(email(), ["someone@corp.io"] * 3, bounds=ColumnBounds(max_length=16))
    assert all(
        o and len(o) <= 16 and re.fullmatch(r"[a-z]+[a-z.]*[a-z]@example\.(com|net|org)", o)
        for o in out
    )


@pytest.mark.parametrize("field", ["transform_first_name", "transform_last_name"])
def test_names_can_keep_their_length(field: str) -> None:
    config = t.TransformerConfig()
    getattr(config, field).preserve_length = True
    values = ["Al", "Alice", "Christopher", "Maximiliano-Alexander-Jones", "X", ""]
    out = run(config, values)
    assert [len(o or "") for o in out] == [len(v) for v in values]
    assert all(o != v for o, v in zip(out, values, strict=True) if v)


def test_every_first_name_maps_to_another_of_its_length() -> None:
    config = t.TransformerConfig(transform_first_name=t.TransformFirstName(preserve_length=True))
    names = first_names().to_pylist()
    out = run(config, names)
    assert all(o != n and len(o or "") == len(n) for o, n in zip(out, names, strict=True))


def test_phone_numbers_keep_their_format() -> None:
    config = t.TransformerConfig(transform_phone_number=t.TransformPhoneNumber())
    [out] = run(config, ["(555) 123-4567 ext. 8"])
    assert out and re.fullmatch(r"\(\d{3}\) \d{3}-\d{4} ext\. \d", out)
    e164 = t.TransformerConfig(
        transform_e164_phone_number=t.TransformE164PhoneNumber(preserve_length=True)
    )
    [short, long] = run(e164, ["+4420794600", "+861391234567899"])
    assert short and re.fullmatch(r"\+[1-9]\d{9}", short)
    assert long and re.fullmatch(r"\+[1-9]\d{14}", long)


def test_generated_phone_digit_counts() -> None:
    config = t.TransformerConfig(
        generate_string_phone_number=t.GenerateStringPhoneNumber(min=9, max=12)
    )
    out = run(config, [str(i) for i in range(200)])
    assert {len(o or "") for o in out} == {9, 10, 11, 12}


def test_character_scramble_touches_only_the_matches() -> None:
    config = t.TransformerConfig(
        transform_character_scramble=t.TransformCharacterScramble(regex=r"\d+")
    )
    [out] = run(config, ["Order 12345 for Zoë"])
    assert (
        out
        and out.startswith("Order ")
        and out.endswith(" for Zoë")
        and out != "Order 12345 for Zoë"
    )
    [mixed] = run(SCRAMBLE, ["Ab-9é"])
    assert mixed and re.fullmatch(r"[A-Z][a-z]-\dé", mixed)


def test_character_scramble_never_gives_back_its_input() -> None:
    values = [f"{i:06d}" for i in range(100_000)] + [*"0123456789", "a", "Z", "x-1", "ab"]
    for key in (b"k" * 32, b"o" * 32, bytes(32)):
        outputs = build_transformer(SCRAMBLE, key).transform(pa.array(values)).to_pylist()
        assert not [v for v, o in zip(values, outputs, strict=True) if v == o]
    # Nothing to replace: kept as is, whatever the options.
    assert run(SCRAMBLE, ["", "-", "é ☃"]) == ["", "-", "é ☃"]
    matches = t.TransformerConfig(
        transform_character_scramble=t.TransformCharacterScramble(regex=r"\d+")
    )
    assert run(matches, ["Zoë", "no digits"]) == ["Zoë", "no digits"]


def shape(value: str, letters: bool) -> str:
    """The value with each character a scramble replaces written as its class."""
    value = re.sub("[0-9]", "0", value)
    return re.sub("[a-z]", "a", re.sub("[A-Z]", "A", value)) if letters else value


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.text(alphabet="0aZ-é", max_size=3), max_size=30),
    st.integers(0, 2**64 - 1),
    st.booleans(),
)
def test_a_scramble_keeps_the_shape_and_changes_what_it_can(
    values: list[str], seed: int, letters: bool
) -> None:
    h = mix(np.arange(len(values), dtype=np.uint64) + np.uint64(seed))
    outputs = scramble(pa.array(values, pa.string()), h, letters=letters).to_pylist()
    replaceable = "[0-9a-zA-Z]" if letters else "[0-9]"
    for value, out in zip(values, outputs, strict=True):
        assert shape(out, letters) == shape(value, letters)
        # Unchanged exactly when there is nothing to replace.
        assert (out == value) == (re.search(replaceable, value) is None)


def test_a_scramble_drawn_as_its_input_is_redrawn_uniformly() -> None:
    # 100k rows of one digit with distinct hashes: about 10k draw their input at first and
    # about 10 are still unchanged after every redraw, which the last resort moves.
    h = mix(np.arange(100_000, dtype=np.uint64))
    counts = Counter(scramble(pa.array(["7"] * 100_000), h).to_pylist())
    assert set(counts) == set("012345689")
    assert all(10_000 < n < 12_300 for n in counts.values())  # 11,111 each, give or take 10%


def test_strings_respect_their_lengths() -> None:
    rows: list[str | None] = [str(i) for i in range(200)]
    ranged = t.TransformerConfig(transform_string=t.TransformString(min_length=3, max_length=5))
    assert {len(o or "") for o in run(ranged, rows)} == {3, 4, 5}
    kept = t.TransformerConfig(transform_string=t.TransformString(preserve_length=True))
    assert [len(o or "") for o in run(kept, ["abc", "", "hello world"])] == [3, 0, 11]
    capped = t.TransformerConfig(generate_string=t.GenerateString(min=30, max=40))
    assert all(len(o or "") == 10 for o in run(capped, rows, bounds=ColumnBounds(max_length=10)))


def test_categorical_and_ip_addresses() -> None:
    rows: list[str | None] = [str(i) for i in range(200)]
    config = t.TransformerConfig(generate_categorical=t.GenerateCategorical(categories=["a", "b"]))
    assert set(run(config, rows)) == {"a", "b"}
    v4 = t.TransformerConfig(generate_ip_address=t.GenerateIpAddress())
    assert all(o and all(0 <= int(p) < 256 for p in o.split(".")) for o in run(v4, rows))
    v6 = t.TransformerConfig(generate_ip_address=t.GenerateIpAddress(version=t.IP_VERSION_V6))
    assert all(o and re.fullmatch(r"([0-9a-f]{4}:){7}[0-9a-f]{4}", o) for o in run(v6, rows))
