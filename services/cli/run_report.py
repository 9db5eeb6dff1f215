"""A run's privacy report for people: per column what its transformer left unchanged, what
the detector reads in the columns left in clear, each table's k-anonymity, each synthesized
table's model on held-out rows, and the findings, those that failed the run first."""

from collections.abc import Iterable

from services.cli.models import evaluation_lines
from services.cli.output import out, table
from veilsync.v1 import job_pb2


def print_report(
    report: job_pb2.PrivacyReport, progress: Iterable[job_pb2.TableRunProgress] = ()
) -> None:
    """The report, with the model evaluations of the synthesized tables among `progress`
    (the run's per-table progress, where the run records them)."""
    columns = table(
        "TABLE", "COLUMN", "TRANSFORMER", "UNCHANGED", "DISTINCT", "PII IN CLEAR", title="privacy"
    )
    for entry in report.tables:
        for column in entry.columns:
            columns.add_row(
                entry.table,
                column.column,
                _transformer(column),
                _unchanged(column),
                _distinct(column),
                _pii(column),
            )
    out.print(columns)
    anonymity = table("TABLE", "QUASI-IDENTIFIERS", "K", "UNIQUE ROWS", title="k-anonymity")
    for entry in report.tables:
        if entry.HasField("k_anonymity"):
            k = entry.k_anonymity
            how = "declared" if k.declared else "detected"
            share = f" ({k.unique_rows / k.rows:.1%})" if k.rows else ""
            anonymity.add_row(
                entry.table,
                f"{', '.join(k.columns)} ({how})",
                str(k.k),
                f"{k.unique_rows} of {k.rows}{share}",
            )
    if anonymity.row_count:
        out.print(anonymity)
    else:
        out.print("k-anonymity: no table has quasi-identifiers")
    print_evaluations(progress)
    findings = sorted(report.findings, key=lambda f: not f.fails_run)  # stable: table order
    if not findings:
        out.print("privacy: no finding")
    for finding in findings:
        out.print(
            f"{'failed: ' if finding.fails_run else 'warning:'} {finding.kind}: {finding.message}"
        )


def print_evaluations(progress: Iterable[job_pb2.TableRunProgress]) -> None:
    """Each synthesized table's model: quality and privacy (DCR) on rows held out of training."""
    for entry in progress:
        if entry.HasField("model_evaluation"):
            out.print(f"{entry.table} synthesized:")
            for line in evaluation_lines(entry.model_evaluation):
                out.print(f"  {line}")


def summary(report: job_pb2.PrivacyReport) -> str:
    """One line for `runs get`: how many findings, and where to read them."""
    failing = sum(f.fails_run for f in report.findings)
    if not report.findings:
        return "privacy: no finding"
    return (
        f"privacy: {len(report.findings)} finding(s), {failing} failing the run "
        "(`veilsync runs report RUN` lists them)"
    )


def _transformer(column: job_pb2.ColumnPrivacy) -> str:
    if not column.transformer:
        return "(in clear)"
    return column.transformer + (" (random)" if column.random else "")


def _unchanged(column: job_pb2.ColumnPrivacy) -> str:
    if not (column.transformer and column.compared):
        return "-"
    return f"{column.unchanged} of {column.compared} ({column.unchanged / column.compared:.2%})"


def _distinct(column: job_pb2.ColumnPrivacy) -> str:
    if not column.HasField("distinct_values"):
        return "-"
    return f"{column.distinct_values} in {column.values_sampled}"


def _pii(column: job_pb2.ColumnPrivacy) -> str:
    if not column.pii_kind:
        return "-"
    return f"{column.pii_kind} ({column.pii_confidence:.2f})"
