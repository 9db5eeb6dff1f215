"""A trained model measured on rows it never saw: a share of the rows read is held out before
fitting, and the model's synthetic rows are compared with it for fidelity (SDMetrics quality)
and with both sets for privacy (distance to closest record)."""

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.ml_worker.backends.base import FittedModel
from services.ml_worker.dcr import REFERENCE_ROWS, dcr_share
from services.ml_worker.quality import quality_report
from services.ml_worker.spec import Role, TableSpec
from veilsync.v1 import model_pb2

HOLDOUT_SHARE = 0.2
MIN_HOLDOUT_ROWS = 20  # fewer would make both scores noise
# DCR compares with at most this many holdout rows, quality with fewer: holding out more would
# only take rows away from training.
MAX_HOLDOUT_ROWS = REFERENCE_ROWS
QUALITY_ROWS = 2_000  # synthetic rows drawn to measure, and holdout rows compared with
# A copying model scores 1; models that generalize score 0.5, give or take 0.15 on holdouts of
# 30 rows (a 2-epoch VAE on the 150-row orders table: 0.37-0.73 over 12 splits). Mixed with
# fresh rows, copies move the share about as 0.5 + copied/2 at any table size: 0.8 flags some
# three rows in five copied (tests/unit/test_ml_evaluation.py). The flag marks clear cases;
# the share itself says more.
MEMORIZES_AT = 0.8


@dataclass(frozen=True)
class Split:
    training: pd.DataFrame
    holdout: pd.DataFrame


def holdout_rows(rows: int) -> int:
    """20% of the rows, at least MIN_HOLDOUT_ROWS, at most MAX_HOLDOUT_ROWS, and never more
    than half: a small table keeps most of its rows to learn from."""
    wanted = max(math.ceil(rows * HOLDOUT_SHARE), MIN_HOLDOUT_ROWS)
    return min(wanted, MAX_HOLDOUT_ROWS, rows // 2)


def split(frame: pd.DataFrame, seed: int, model_id: str) -> Split:
    """The rows held out, chosen by the training seed and the model: a retried training holds
    out the same rows, and two models of one table with one seed do not share a holdout."""
    model = int.from_bytes(hashlib.blake2b(model_id.encode(), digest_size=8).digest(), "big")
    rng = np.random.default_rng([seed & 0xFFFF_FFFF_FFFF_FFFF, model])
    held = np.zeros(len(frame), dtype=bool)
    held[rng.permutation(len(frame))[: holdout_rows(len(frame))]] = True
    return Split(frame[~held].reset_index(drop=True), frame[held].reset_index(drop=True))


def evaluate(
    fitted: FittedModel, rows: Split, spec: TableSpec, seed: int
) -> tuple[model_pb2.ModelQuality, model_pb2.ModelEvaluation]:
    """The quality report against the holdout, and the evaluation that sums it up with DCR.
    Nothing is measured without a holdout: scoring the training rows would flatter a model
    that copies them."""
    holdout = len(rows.holdout)
    if holdout == 0:
        return model_pb2.ModelQuality(), model_pb2.ModelEvaluation()
    synthetic = fitted.sample(QUALITY_ROWS, seed)
    real = rows.holdout
    if holdout > QUALITY_ROWS:
        real = real.sample(QUALITY_ROWS, random_state=seed & 0xFFFF_FFFF)
    quality = quality_report(real, synthetic, spec.sdv_metadata())
    numeric = [c.name for c in spec.learned if c.role in (Role.NUMERICAL, Role.DATETIME)]
    categorical = [c.name for c in spec.learned if c.role in (Role.CATEGORICAL, Role.BOOLEAN)]
    dcr = dcr_share(synthetic, rows.training, rows.holdout, numeric, categorical, seed)
    return quality, model_pb2.ModelEvaluation(
        holdout_rows=holdout,
        quality_score=quality.overall_score,
        dcr_share=dcr.share,
        memorizes=dcr.rows > 0 and dcr.share >= MEMORIZES_AT,
        dcr_rows=dcr.rows,
    )
