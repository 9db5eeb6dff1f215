"""From detections to a mapping a job can use: one transformer per detected column, chosen
among candidates by what passes job validation for that column.

Key columns are left alone. A transformed primary key would need every foreign key pointing
at it mapped the same way, and personal data used as a key (an email primary key) is rare
enough that a user should decide it; such columns are reported instead, so nothing silently
passes through unnoticed."""

from collections.abc import Mapping
from dataclasses import dataclass

import pyarrow as pa

from services.engine.inspect.pii import Detection, PiiKind, detect
from services.engine.planning.rules import column_violations
from services.engine.schema import Column, Schema, Table, TypeFamily
from veilsync.v1 import transformer_pb2 as t

Config = t.TransformerConfig

# Birth dates are drawn from 1940-01-01 to 2005-12-31 (Unix seconds).
_BIRTH_RANGE = (-946_771_200, 1_136_073_599)


def _candidates(kind: PiiKind, column: Column) -> list[Config]:
    """Transformers for a kind, best first; the first that fits the column wins."""
    integer = column.family in (TypeFamily.INTEGER, TypeFamily.NUMERIC)
    by_kind: dict[PiiKind, list[Config]] = {
        PiiKind.EMAIL: [Config(transform_email=t.TransformEmail())],
        PiiKind.PHONE: (
            [Config(transform_int64_phone_number=t.TransformInt64PhoneNumber())]
            if integer
            else [Config(transform_phone_number=t.TransformPhoneNumber())]
        ),
        # Scrambling digits keeps the format the column already uses (dashes or not).
        PiiKind.SSN: [Config(transform_character_scramble=t.TransformCharacterScramble())],
        PiiKind.FIRST_NAME: [Config(transform_first_name=t.TransformFirstName())],
        PiiKind.LAST_NAME: [Config(transform_last_name=t.TransformLastName())],
        PiiKind.FULL_NAME: [Config(transform_full_name=t.TransformFullName())],
        PiiKind.STREET_ADDRESS: [Config(generate_street_address=t.GenerateStreetAddress())],
        PiiKind.CITY: [Config(generate_city=t.GenerateCity())],
        PiiKind.ZIPCODE: [Config(generate_zipcode=t.GenerateZipcode())],
        PiiKind.CARD_NUMBER: (
            [Config(generate_card_number=t.GenerateCardNumber(valid_luhn=True))]
            if integer
            else [Config(transform_character_scramble=t.TransformCharacterScramble())]
        ),
        PiiKind.IP_ADDRESS: [Config(generate_ip_address=t.GenerateIpAddress())],
        PiiKind.BIRTH_DATE: [
            Config(
                generate_utctimestamp=t.GenerateUtcTimestamp(
                    min=_BIRTH_RANGE[0], max=_BIRTH_RANGE[1]
                )
            )
        ],
    }
    # Fallbacks that fit most text columns; `mask` keeps the shape, then `null` if allowed.
    fallbacks = [Config(transform_hash=t.TransformHash()), Config(mask=t.Mask(keep_first=1))]
    if column.nullable:
        fallbacks.append(Config(null=t.Null()))
    return [*by_kind[kind], *fallbacks]


@dataclass(frozen=True)
class Suggestion:
    table: str  # qualified
    column: Column
    detection: Detection
    config: Config
    reason: str


@dataclass(frozen=True)
class SuggestionReport:
    suggestions: list[Suggestion]
    skipped_key_columns: list[str]  # "table.column"


def key_columns(schema: Schema) -> set[tuple[str, str]]:
    """(qualified table, column) of every primary key, foreign key and referenced column."""
    keys: set[tuple[str, str]] = set()
    for table in schema.tables.values():
        keys.update((table.qualified, c) for c in table.primary_key)
        for fk in table.foreign_keys:
            keys.update((table.qualified, c) for c in fk.columns)
            keys.update((fk.ref_qualified, c) for c in fk.ref_columns)
    return keys


def suggest(schema: Schema, samples: Mapping[str, pa.Table]) -> SuggestionReport:
    """Suggestions for every table of `schema`; `samples` holds sampled rows by qualified
    table name (a table without a sample is judged on names and types alone)."""
    keys = key_columns(schema)
    found: list[Suggestion] = []
    skipped: list[str] = []
    for qualified in sorted(schema.tables):
        table = schema.tables[qualified]
        sample = samples.get(qualified)
        for column in table.columns:
            if column.generated is not None:
                continue
            values = (
                sample.column(column.name)
                if sample is not None and column.name in sample.column_names
                else None
            )
            detection = detect(column.name, column.family, values)
            if detection is None:
                continue
            if (qualified, column.name) in keys:
                skipped.append(f"{qualified}.{column.name}")
                continue
            suggestion = _fitting(table, column, detection)
            if suggestion is not None:
                found.append(suggestion)
    return SuggestionReport(found, skipped)


def _fitting(table: Table, column: Column, detection: Detection) -> Suggestion | None:
    candidates = _candidates(detection.kind, column)
    for i, config in enumerate(candidates):
        if any(column_violations(table, column.name, config, column.name)):
            continue
        reason = _reason(detection)
        if i:
            chosen = config.WhichOneof("config")
            reason += f"; {chosen} because the preferred transformer does not fit the column"
        return Suggestion(table.qualified, column, detection, config, reason)
    return None


def _reason(detection: Detection) -> str:
    parts = []
    if detection.name_match:
        parts.append(f"the column name reads as {detection.kind}")
    if detection.values_sampled:
        parts.append(
            f"{detection.value_match_ratio:.0%} of {detection.values_sampled} sampled values match"
        )
    return ", ".join(parts) or "detected"
