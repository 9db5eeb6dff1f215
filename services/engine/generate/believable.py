"""The generator a plan picks for a column the job leaves open, in this order: what a check
allows (an IN list); what the name says it holds where that is personal data; the range the
source's statistics give a number; what the name says otherwise (meanings.py, dates.py); else
the type's default. Number ranges are then narrowed to the checks' bounds. Pure."""

from collections.abc import Collection, Mapping

from services.engine.generate.checks import column_checks, date_orders, within
from services.engine.generate.dates import Follows, is_date, plan_dates
from services.engine.generate.defaults import default_generator
from services.engine.generate.meanings import generator_for, meaning, ranged
from services.engine.inspect.pii import PiiKind
from services.engine.schema import Column, Table
from veilsync.v1 import transformer_pb2 as t


class TableChoices:
    """Built once per table: its open date columns are planned together, since one may
    follow another."""

    def __init__(
        self,
        table: Table,
        open_columns: Collection[str],
        now: int,
        learned: Mapping[str, tuple[float, float]] | None = None,
    ) -> None:
        """`learned`: the smallest and largest value of number columns, by name."""
        dates = [c for c in table.columns if c.name in open_columns and is_date(c)]
        self._dates = plan_dates(dates, now, date_orders(table))
        self._checks = column_checks(table)
        self._learned = learned or {}

    def choose(self, column: Column, field: str) -> t.TransformerConfig | Follows:
        """InvalidArgumentError naming `field` when nothing fits a NOT NULL column."""
        checked = self._checks.get(column.name)
        if checked is not None and checked.categories and not column.enum_labels:
            room = column.max_length or None
            fitting = [c for c in checked.categories if room is None or len(c) <= room]
            if fitting:
                return t.TransformerConfig(
                    generate_categorical=t.GenerateCategorical(categories=fitting)
                )
        dated = self._dates.get(column.name)
        if isinstance(dated, Follows):
            return dated
        kind = meaning(column)
        config = dated or (generator_for(kind, column) if isinstance(kind, PiiKind) else None)
        if config is None and column.name in self._learned:
            config = ranged(column, *self._learned[column.name])
        if config is None and kind is not None:
            config = generator_for(kind, column)
        config = config or default_generator(column, field)
        return config if checked is None else within(config, checked.bounds, column)
