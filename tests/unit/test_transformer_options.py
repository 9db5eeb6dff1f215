"""Options are checked up front, alone and against the column, with errors naming them."""

import pytest

from services.common.errors import InvalidArgumentError
from services.engine.schema import Column, TypeFamily
from services.engine.transformers import build_transformer, validate_transformer
from veilsync.v1 import transformer_pb2 as t

KEY = b"k" * 32
FIELD = "job.mappings[0].columns[c]"
# Proto3 enums are open: a client can send a number no version of the contract defines.
UNKNOWN_IP = t.IpVersion.ValueType(7)
UNKNOWN_ACTION = t.InvalidEmailAction.ValueType(99)

BAD_OPTIONS = [
    (t.TransformerConfig(transform_hash=t.TransformHash(length=65)), "transform_hash.length"),
    (t.TransformerConfig(mask=t.Mask(keep_first=-1)), "mask.keep_first"),
    (t.TransformerConfig(mask=t.Mask(mask_char="ab")), "mask.mask_char"),
    (t.TransformerConfig(generate_int64=t.GenerateInt64(min=5, max=1)), "generate_int64.min"),
    (
        t.TransformerConfig(generate_float64=t.GenerateFloat64(max=1, precision=16)),
        "generate_float64.precision",
    ),
    (t.TransformerConfig(generate_string=t.GenerateString(min=9, max=3)), "generate_string.min"),
    (
        t.TransformerConfig(transform_string=t.TransformString(min_length=-1)),
        "transform_string.min_length",
    ),
    (
        t.TransformerConfig(
            transform_int64=t.TransformInt64(randomization_range_min=3, randomization_range_max=1)
        ),
        "transform_int64.randomization_range_min",
    ),
    (
        t.TransformerConfig(
            transform_character_scramble=t.TransformCharacterScramble(regex="([a-z")
        ),
        "transform_character_scramble.regex",
    ),
    (
        t.TransformerConfig(generate_categorical=t.GenerateCategorical()),
        "generate_categorical.categories",
    ),
    (
        t.TransformerConfig(transform_email=t.TransformEmail(excluded_domains=["a@b"])),
        "transform_email.excluded_domains[0]",
    ),
    (
        t.TransformerConfig(transform_email=t.TransformEmail(invalid_email_action=UNKNOWN_ACTION)),
        "transform_email.invalid_email_action",
    ),
    (
        t.TransformerConfig(generate_e164_phone_number=t.GenerateE164PhoneNumber(min=3)),
        "generate_e164_phone_number.min",
    ),
    (
        t.TransformerConfig(generate_utctimestamp=t.GenerateUtcTimestamp(min=0, max=10**12)),
        "generate_utctimestamp.max",
    ),
    (
        t.TransformerConfig(generate_ip_address=t.GenerateIpAddress(version=UNKNOWN_IP)),
        "generate_ip_address.version",
    ),
]


@pytest.mark.parametrize(("config", "option"), BAD_OPTIONS, ids=[o for _, o in BAD_OPTIONS])
def test_bad_options_are_named(config: t.TransformerConfig, option: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        build_transformer(config, KEY, FIELD)
    assert err.value.field == f"{FIELD}.{option}"


def column(data_type: str, family: TypeFamily, **kw: object) -> Column:
    fields: dict[str, object] = {"nullable": True, **kw}
    return Column(name="c", data_type=data_type, family=family, **fields)  # type: ignore[arg-type]


COLUMN_MISFITS = [
    (
        t.TransformerConfig(generate_int64=t.GenerateInt64(min=0, max=40_000)),
        column("smallint", TypeFamily.INTEGER),
        "generate_int64.max",
    ),
    (
        t.TransformerConfig(generate_float64=t.GenerateFloat64(min=-1000, max=1)),
        column("numeric(5,2)", TypeFamily.NUMERIC),
        "generate_float64.min",
    ),
    (
        t.TransformerConfig(generate_float64=t.GenerateFloat64(max=1, precision=4)),
        column("numeric(5,2)", TypeFamily.NUMERIC),
        "generate_float64.precision",
    ),
    (
        t.TransformerConfig(
            transform_email=t.TransformEmail(invalid_email_action=t.INVALID_EMAIL_ACTION_NULL)
        ),
        column("text", TypeFamily.TEXT, nullable=False),
        "transform_email.invalid_email_action",
    ),
    (
        t.TransformerConfig(transform_email=t.TransformEmail()),
        column("varchar(8)", TypeFamily.TEXT, max_length=8),
        "transform_email.preserve_domain",
    ),
    (
        t.TransformerConfig(generate_string=t.GenerateString(min=10)),
        column("varchar(8)", TypeFamily.TEXT, max_length=8),
        "generate_string.min",
    ),
    (
        t.TransformerConfig(generate_categorical=t.GenerateCategorical(categories=["a", "zz"])),
        column("mood", TypeFamily.OTHER, enum_labels=("a", "b")),
        "generate_categorical.categories[1]",
    ),
    (
        t.TransformerConfig(generate_card_number=t.GenerateCardNumber()),
        column("integer", TypeFamily.INTEGER),
        "generate_card_number.valid_luhn",
    ),
    (
        t.TransformerConfig(generate_int64_phone_number=t.GenerateInt64PhoneNumber()),
        column("integer", TypeFamily.INTEGER),
        "generate_int64_phone_number",
    ),
    (
        t.TransformerConfig(generate_default=t.GenerateDefault()),
        column("text", TypeFamily.TEXT, nullable=False),
        "generate_default",
    ),
]


@pytest.mark.parametrize(
    ("config", "col", "option"), COLUMN_MISFITS, ids=[o for _, _, o in COLUMN_MISFITS]
)
def test_options_that_cannot_fit_the_column_are_named(
    config: t.TransformerConfig, col: Column, option: str
) -> None:
    validate_transformer(config, FIELD)  # fine on their own
    with pytest.raises(InvalidArgumentError) as err:
        validate_transformer(config, FIELD, col)
    assert err.value.field == f"{FIELD}.{option}"


def test_fitting_options_pass_the_column_check() -> None:
    fits = [
        (
            t.TransformerConfig(generate_int64=t.GenerateInt64(max=30_000)),
            column("smallint", TypeFamily.INTEGER),
        ),
        (
            t.TransformerConfig(generate_default=t.GenerateDefault()),
            column("text", TypeFamily.TEXT, nullable=False, default="'x'"),
        ),
        (
            t.TransformerConfig(generate_card_number=t.GenerateCardNumber()),
            column("bigint", TypeFamily.INTEGER),
        ),
    ]
    for config, col in fits:
        validate_transformer(config, FIELD, col)


def test_generate_default_is_marked_for_the_writer() -> None:
    cls = validate_transformer(t.TransformerConfig(generate_default=t.GenerateDefault()), FIELD)
    assert cls.omits_column and not cls.writes_null
