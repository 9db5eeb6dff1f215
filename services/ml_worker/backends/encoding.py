"""Tabular encoding for the first-party model: numbers and datetimes standardised (with a
missing-value flag), categories and booleans one-hot. Fitted once, stored with the model."""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from services.ml_worker.spec import ColumnSpec, Role

MISSING = "__veilsync_missing__"


@dataclass
class Numeric:
    name: str
    mean: float
    std: float
    low: float
    high: float
    integer: bool
    datetime: bool
    nullable: bool
    null_rate: float


@dataclass
class Categorical:
    name: str
    categories: list[Any]
    boolean: bool


@dataclass
class Encoding:
    numeric: list[Numeric] = field(default_factory=list)
    categorical: list[Categorical] = field(default_factory=list)

    @property
    def numeric_width(self) -> int:
        return len(self.numeric)

    @property
    def category_sizes(self) -> list[int]:
        return [len(c.categories) for c in self.categorical]

    @property
    def width(self) -> int:
        return self.numeric_width + sum(self.category_sizes)

    def state(self) -> dict[str, Any]:
        return {
            "numeric": [vars(n) for n in self.numeric],
            "categorical": [vars(c) for c in self.categorical],
        }

    @staticmethod
    def from_state(state: dict[str, Any]) -> "Encoding":
        return Encoding(
            [Numeric(**n) for n in state["numeric"]],
            [Categorical(**c) for c in state["categorical"]],
        )

    def encode(self, frame: pd.DataFrame) -> npt.NDArray[np.float32]:
        parts: list[npt.NDArray[np.float32]] = []
        for n in self.numeric:
            values = _as_float(frame[n.name], n.datetime)
            values = np.where(np.isnan(values), n.mean, values)
            parts.append(((values - n.mean) / n.std).astype(np.float32)[:, None])
        for c in self.categorical:
            index = {value: i for i, value in enumerate(c.categories)}
            codes = frame[c.name].map(_key).map(index).fillna(0).to_numpy(dtype=np.int64)
            parts.append(np.eye(len(c.categories), dtype=np.float32)[codes])
        return np.concatenate(parts, axis=1) if parts else np.zeros((len(frame), 0), np.float32)

    def decode(
        self, numbers: npt.NDArray[np.float32], codes: list[npt.NDArray[np.int64]], seed: int
    ) -> pd.DataFrame:
        rng = np.random.default_rng(seed)
        out: dict[str, Any] = {}
        for i, n in enumerate(self.numeric):
            values = np.clip(numbers[:, i] * n.std + n.mean, n.low, n.high)
            missing = rng.random(len(values)) < n.null_rate
            if n.datetime:
                stamps = pd.to_datetime(values.round().astype("int64"), unit="s")
                out[n.name] = pd.Series(stamps).mask(missing)
            elif n.integer:
                out[n.name] = pd.Series(values.round()).astype("Int64").mask(missing)
            else:
                out[n.name] = pd.Series(values).mask(missing)
        for c, chosen in zip(self.categorical, codes, strict=True):
            values = [None if c.categories[k] == MISSING else c.categories[k] for k in chosen]
            out[c.name] = pd.Series(values, dtype="boolean" if c.boolean else "object")
        return pd.DataFrame(out)


def fit_encoding(frame: pd.DataFrame, columns: list[ColumnSpec]) -> Encoding:
    encoding = Encoding()
    for spec in columns:
        values = frame[spec.name]
        if spec.role in (Role.NUMERICAL, Role.DATETIME):
            floats = _as_float(values, spec.role is Role.DATETIME)
            present = floats[~np.isnan(floats)]
            if present.size == 0:
                present = np.zeros(1)
            encoding.numeric.append(
                Numeric(
                    name=spec.name,
                    mean=float(present.mean()),
                    std=float(present.std()) or 1.0,
                    low=float(present.min()),
                    high=float(present.max()),
                    integer=spec.integer,
                    datetime=spec.role is Role.DATETIME,
                    nullable=spec.nullable,
                    null_rate=float(np.isnan(floats).mean()),
                )
            )
        else:
            counts = values.map(_key).value_counts()
            encoding.categorical.append(
                Categorical(spec.name, list(counts.index), spec.role is Role.BOOLEAN)
            )
    return encoding


def _key(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return MISSING
    return bool(value) if isinstance(value, np.bool_) else value


def _as_float(values: pd.Series, datetime: bool) -> npt.NDArray[np.float64]:
    if datetime:
        stamps = pd.Series(pd.to_datetime(values, errors="coerce"))
        seconds: npt.NDArray[np.float64] = (
            (stamps - pd.Timestamp(0)).dt.total_seconds().to_numpy(dtype=np.float64)
        )
        return seconds
    numbers: npt.NDArray[np.float64] = (
        pd.to_numeric(values, errors="coerce").astype("float64").to_numpy(na_value=np.nan)
    )
    return numbers
