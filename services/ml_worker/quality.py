"""SDMetrics' quality report of synthetic rows against real ones, as a ModelQuality."""

import logging
import math
from typing import Any

import pandas as pd
from sdmetrics.reports import QualityReport

from veilsync.v1 import model_pb2

log = logging.getLogger(__name__)
TABLE = "table"


def quality_report(
    real: pd.DataFrame, synthetic: pd.DataFrame, metadata: dict[str, Any]
) -> model_pb2.ModelQuality:
    columns = list(metadata["columns"])
    if not columns:
        return model_pb2.ModelQuality()
    report = QualityReport()
    report.generate(
        {TABLE: real[columns]},
        {TABLE: synthetic[columns]},
        {"tables": {TABLE: metadata}},
        verbose=False,
    )
    properties = report.get_properties().set_index("Property")["Score"]
    quality = model_pb2.ModelQuality(
        overall_score=_score(report.get_score()),
        column_shapes_score=_score(properties.get("Column Shapes", 0.0)),
        column_pair_trends_score=_score(properties.get("Column Pair Trends", 0.0)),
    )
    for row in report.get_details("Column Shapes").itertuples(index=False):
        quality.column_shapes.add(column=row.Column, metric=row.Metric, score=_score(row.Score))
    pairs = report.get_details("Column Pair Trends")
    for _, pair in pairs.iterrows():
        quality.column_pair_trends.add(
            column_1=pair["Column 1"],
            column_2=pair["Column 2"],
            metric=pair["Metric"],
            score=_score(pair["Score"]),
        )
    return quality


def _score(value: Any) -> float:
    number = float(value)
    return 0.0 if math.isnan(number) else number
