"""Which generator fills a column of a generate job: the user's, checked against the column,
or a default for the column's type that stays within its range, scale and length."""

from services.common.errors import InvalidArgumentError
from services.engine.schema import Column, TypeFamily
from services.engine.transformers import ColumnBounds, validate_transformer
from services.engine.transformers.builtin import CATALOG
from veilsync.v1 import transformer_pb2 as t

# The only generators a key column accepts: those whose outputs are distinct for distinct row
# ordinals.
UNIQUE_GENERATORS = frozenset(name for name, cls in CATALOG.items() if cls.unique_outputs)
DEFAULT_STRING_LENGTH = 20
DEFAULT_INT_MAX = 1_000_000
DEFAULT_FLOAT_MAX = 1000.0


def check_generator(config: t.TransformerConfig, column: Column, unique: bool, field: str) -> None:
    """InvalidArgumentError naming `field` when the generator cannot fill the column."""
    cls = validate_transformer(config, field, column)
    if column.family not in cls.data_types:
        accepted = ", ".join(str(f) for f in cls.data_types)
        raise InvalidArgumentError(
            field, f"{cls.name} accepts {accepted} columns, not {column.data_type}"
        )
    if cls.writes_null and not column.nullable:
        raise InvalidArgumentError(field, f"{cls.name} writes NULL but the column is NOT NULL")
    if unique:
        if not cls.unique_outputs:
            raise InvalidArgumentError(
                field,
                f"{column.name} is a key and needs unique values; {cls.name} does not promise "
                f"them (use one of {', '.join(sorted(UNIQUE_GENERATORS))}, or none)",
            )
        if config.random:
            raise InvalidArgumentError(
                f"{field}.random", "a key is generated keyed, so references can find it"
            )
        if config.WhichOneof("config") == "transform_hash" and config.transform_hash.length:
            raise InvalidArgumentError(
                f"{field}.transform_hash.length", "a key keeps all 64 characters to stay unique"
            )


def default_generator(column: Column, field: str) -> t.TransformerConfig:
    """A generator producing values the column accepts; InvalidArgumentError when its type has
    none and it is NOT NULL."""
    bounds = ColumnBounds.of(column.data_type, column.max_length)
    family = column.family
    spelled = column.data_type.strip().lower()
    if column.enum_labels:
        return t.TransformerConfig(
            generate_categorical=t.GenerateCategorical(categories=column.enum_labels)
        )
    if family == TypeFamily.INTEGER:
        high = (bounds.integer_range() or (0, DEFAULT_INT_MAX))[1]
        return t.TransformerConfig(
            generate_int64=t.GenerateInt64(min=0, max=min(high, DEFAULT_INT_MAX))
        )
    if family == TypeFamily.NUMERIC:
        whole = (bounds.integer_range() or (0, DEFAULT_INT_MAX))[1]
        if whole == 0:  # numeric(p, p): only fractions, 0 is always one of them
            return _constant("0")
        return t.TransformerConfig(
            generate_float64=t.GenerateFloat64(min=0.0, max=min(float(whole), DEFAULT_FLOAT_MAX))
        )
    if family == TypeFamily.TEXT:
        longest = min(column.max_length or DEFAULT_STRING_LENGTH, DEFAULT_STRING_LENGTH)
        return t.TransformerConfig(generate_string=t.GenerateString(min=1, max=longest))
    if family == TypeFamily.BOOLEAN:
        return t.TransformerConfig(generate_bool=t.GenerateBool())
    if family == TypeFamily.TEMPORAL:
        # "2024-05-01 13:45:10+00" is also what date, time and timetz columns read.
        return t.TransformerConfig(generate_utctimestamp=t.GenerateUtcTimestamp())
    if family == TypeFamily.UUID:
        return t.TransformerConfig(generate_uuid=t.GenerateUuid())
    if family == TypeFamily.JSON or spelled.endswith("[]") or spelled.startswith("array"):
        return _constant("{}")
    if family == TypeFamily.BINARY:
        return t.TransformerConfig(generate_sha256hash=t.GenerateSha256Hash())
    if spelled in ("inet", "cidr"):
        return t.TransformerConfig(generate_ip_address=t.GenerateIpAddress())
    if column.nullable:
        return t.TransformerConfig(null=t.Null())
    raise InvalidArgumentError(
        field, f"no default generator for {column.data_type}; name one for {column.name}"
    )


def _constant(value: str) -> t.TransformerConfig:
    return t.TransformerConfig(generate_categorical=t.GenerateCategorical(categories=[value]))
