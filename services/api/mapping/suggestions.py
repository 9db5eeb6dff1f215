"""PII suggestions as API messages: kinds, ratios and configs, never sampled values."""

from services.engine.inspect.pii import PiiKind
from services.engine.inspect.pii_suggest import SuggestionReport
from veilsync.v1 import transformer_pb2 as pb

_KINDS = {kind: pb.PiiKind.Value(f"PII_KIND_{kind.name}") for kind in PiiKind}


def suggestions_to_proto(report: SuggestionReport) -> pb.SuggestTransformersResponse:
    return pb.SuggestTransformersResponse(
        suggestions=[
            pb.ColumnSuggestion(
                table=s.table,
                column=s.column.name,
                data_type=s.column.data_type,
                kind=_KINDS[s.detection.kind],
                confidence=s.detection.confidence,
                config=s.config,
                name_match=s.detection.name_match,
                values_sampled=s.detection.values_sampled,
                value_match_ratio=s.detection.value_match_ratio,
                reason=s.reason,
            )
            for s in report.suggestions
        ],
        skipped_key_columns=report.skipped_key_columns,
    )
