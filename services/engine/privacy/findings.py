"""From a privacy report's measures to its findings: the thresholds, one function per kind.
Pure: each reads counts the report already holds and says what is wrong and how to fix it."""

from services.engine.privacy.policy import (
    FREQUENCY_LINKAGE,
    K_ANONYMITY,
    PII_IN_CLEAR,
    UNCHANGED_VALUES,
)
from veilsync.v1 import job_pb2

# A column is low-cardinality when its distinct values are at most 5% of its values, or at
# most 20 repeated twice on average: few and frequent enough that each one's frequency is a
# fingerprint. A column of unique values, however short, is not.
LOW_CARDINALITY_SHARE = 0.05
LOW_CARDINALITY_VALUES = 20

Finding = job_pb2.PrivacyFinding


def low_cardinality(distinct: int, values: int) -> bool:
    if distinct <= 0 or values <= 0:
        return False
    few = distinct <= LOW_CARDINALITY_VALUES and 2 * distinct <= values
    return distinct <= values * LOW_CARDINALITY_SHARE or few


def pii_in_clear(table: str, column: job_pb2.ColumnPrivacy) -> Finding | None:
    if column.transformer or not column.pii_kind:
        return None
    return Finding(
        kind=PII_IN_CLEAR,
        table=table,
        column=column.column,
        message=(
            f"{table}.{column.column} is copied in clear and reads as {column.pii_kind} "
            f"(confidence {column.pii_confidence:.2f}, {column.values_sampled} values sampled); "
            "map it to a transformer (`veilsync jobs suggest` proposes one)"
        ),
    )


def unchanged_values(
    table: str, column: job_pb2.ColumnPrivacy, must_change: bool
) -> Finding | None:
    """For transformers that promise a different value; the others' rates are only shown."""
    if not (must_change and column.unchanged):
        return None
    return Finding(
        kind=UNCHANGED_VALUES,
        table=table,
        column=column.column,
        message=(
            f"{table}.{column.column}: {column.transformer} wrote {column.unchanged:,} of "
            f"{column.compared:,} values unchanged ({column.unchanged / column.compared:.2%}); "
            "choose options under which every value changes, or another transformer"
        ),
    )


def frequency_linkage(table: str, column: job_pb2.ColumnPrivacy) -> Finding | None:
    if not (
        column.HasField("distinct_values")
        and low_cardinality(column.distinct_values, column.values_sampled)
    ):
        return None
    return Finding(
        kind=FREQUENCY_LINKAGE,
        table=table,
        column=column.column,
        message=(
            f"{table}.{column.column}: {column.distinct_values} distinct values in "
            f"{column.values_sampled:,} sampled rows, each always written as the same output "
            f"by {column.transformer}, so the outputs keep the inputs' frequencies and ranking "
            "both re-identifies them; use a transformer whose output does not follow the "
            "value (null, or a generalizing one such as mask). random: true changes the "
            "outputs every run, but within a run they keep the frequencies all the same"
        ),
    )


def k_anonymity(table: str, measured: job_pb2.KAnonymity, min_k: int) -> Finding | None:
    if measured.rows == 0 or measured.k >= min_k:
        return None
    how = "declared" if measured.declared else "detected by name"
    return Finding(
        kind=K_ANONYMITY,
        table=table,
        message=(
            f"{table}: k = {measured.k} over {', '.join(measured.columns)} ({how}), below "
            f"{min_k}; {measured.unique_rows:,} of {measured.rows:,} rows "
            f"({measured.unique_rows / measured.rows:.1%}) are alone in their group. "
            "Generalize or transform these columns (privacy.quasi_identifiers declares "
            "which they are)"
        ),
    )
