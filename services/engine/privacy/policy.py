"""A job's privacy policy: the kinds of finding it may fail a run on, checked when the job is
saved, and applied to a run's report before the run reports success."""

from collections.abc import Sequence

from services.common.errors import InvalidArgumentError
from veilsync.v1 import job_pb2

PII_IN_CLEAR = "pii_in_clear"
UNCHANGED_VALUES = "unchanged_values"
FREQUENCY_LINKAGE = "frequency_linkage"
K_ANONYMITY = "k_anonymity"
KINDS = (PII_IN_CLEAR, UNCHANGED_VALUES, FREQUENCY_LINKAGE, K_ANONYMITY)
# The k a table's quasi-identifiers should reach when the job names none: a common floor
# for releasing data about people (groups of five hide each member among four others).
DEFAULT_MIN_K = 5


def check_policy(policy: job_pb2.PrivacyPolicy, field: str = "job.privacy") -> None:
    """InvalidArgumentError naming the first field of `policy` that cannot work; its tables
    and columns are checked against the source when the job plans."""
    for i, kind in enumerate(policy.fail_on):
        if kind not in KINDS:
            raise InvalidArgumentError(
                f"{field}.fail_on[{i}]", f"unknown kind {kind!r}; use {', '.join(KINDS)}"
            )
    if policy.min_k < 0:
        raise InvalidArgumentError(f"{field}.min_k", "must not be negative")
    tables: set[str] = set()
    for i, entry in enumerate(policy.quasi_identifiers):
        where = f"{field}.quasi_identifiers[{i}]"
        if not entry.table:
            raise InvalidArgumentError(f"{where}.table", "is required")
        if entry.table in tables:
            raise InvalidArgumentError(f"{where}.table", f'"{entry.table}" is named twice')
        tables.add(entry.table)
        _check_columns(entry.columns, f"{where}.columns")


def _check_columns(columns: Sequence[str], field: str) -> None:
    seen: set[str] = set()
    for j, column in enumerate(columns):
        if not column:
            raise InvalidArgumentError(f"{field}[{j}]", "is empty")
        if column in seen:
            raise InvalidArgumentError(f"{field}[{j}]", f'"{column}" is named twice')
        seen.add(column)


def min_k(policy: job_pb2.PrivacyPolicy) -> int:
    return policy.min_k or DEFAULT_MIN_K


def fails_on(policy: job_pb2.PrivacyPolicy, kind: str) -> bool:
    """Whether findings of `kind` fail the run; a min_k the job sets is itself a demand."""
    return kind in policy.fail_on or (kind == K_ANONYMITY and policy.min_k > 0)


def apply_policy(report: job_pb2.PrivacyReport, policy: job_pb2.PrivacyPolicy) -> list[str]:
    """Marks the findings the policy fails on; returns them as the run's failure lines."""
    failures = []
    for finding in report.findings:
        finding.fails_run = fails_on(policy, finding.kind)
        if finding.fails_run:
            failures.append(f"{finding.kind}: {finding.message}")
    return failures
