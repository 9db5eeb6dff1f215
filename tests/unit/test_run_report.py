"""`veilsync runs report` as people read it: a synthesized table's model evaluation shows with
the privacy report, from the run's progress; copied tables show none."""

from services.cli.output import out
from services.cli.run_report import print_report
from veilsync.v1 import job_pb2, model_pb2


def printed(report: job_pb2.PrivacyReport, progress: list[job_pb2.TableRunProgress]) -> str:
    with out.capture() as captured:
        print_report(report, progress)
    return captured.get()


def test_the_report_shows_each_synthesized_tables_model_on_held_out_rows() -> None:
    report = job_pb2.PrivacyReport()
    report.tables.add(table="public.orders")
    report.findings.add(kind="pii_in_clear", table="public.customers", message="email in clear")
    memorizing = model_pb2.ModelEvaluation(
        holdout_rows=30, quality_score=0.91, dcr_share=0.97, memorizes=True, dcr_rows=120
    )
    progress = [
        job_pb2.TableRunProgress(table="public.customers"),
        job_pb2.TableRunProgress(table="public.orders", model_evaluation=memorizing),
    ]

    shown = printed(report, progress)

    assert "public.orders synthesized:\n" in shown
    assert "  quality: 0.91 (SDMetrics, against 30 rows held out of training)" in shown
    assert "  privacy: DCR share 0.97 over 120 synthetic rows" in shown
    assert "  warning: the model memorizes its training rows" in shown
    assert "public.customers synthesized" not in shown
    # Before the findings, which close the report.
    assert shown.index("public.orders synthesized") < shown.index("warning: pii_in_clear")


def test_a_table_too_small_to_hold_rows_out_says_so_and_copied_tables_say_nothing() -> None:
    small = job_pb2.TableRunProgress(
        table="public.tiny", model_evaluation=model_pb2.ModelEvaluation()
    )
    shown = printed(job_pb2.PrivacyReport(), [small])
    assert "public.tiny synthesized:\n  quality: not measured (too few rows" in shown
    copied = job_pb2.TableRunProgress(table="public.copied", rows_written=10)
    assert "synthesized" not in printed(job_pb2.PrivacyReport(), [copied])
