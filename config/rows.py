"""Model instances from the rows of a hand-written SELECT, for the few hot reads where building and
compiling the ORM's query costs more than running it.

A comment POST reads the round, its consultation and version, the writer's participation and
organisation and the section in one query. Written with the ORM (two filtered relations, a
subquery, five related models) that query took 3.6 ms of Python to build and compile, a fifth of
the whole POST, against 0.3 ms to run (docs/performance.md, line 8). `Columns` gives such a query
its select list from the model's own fields, in the model's order, and `Columns.build` makes the
instance with the values converted as the ORM converts them (the backend's converters: SQLite's
datetimes and booleans; the fields' own: JSON), so that the object is the one the ORM would have
made. Anything that is not on a hot path uses the ORM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any, Generic, TypeVar

from django.db import connections
from django.db.models import Model


def converted(field: Any, value: Any, *, using: str = "default") -> Any:
    """`value` of `field` as the database gave it, converted as the ORM converts it (for a column
    selected alone, as a subquery's)."""
    connection = connections[using]
    column = field.get_col(field.model._meta.db_table)
    for converter in connection.ops.get_db_converters(column) + column.get_db_converters(connection):
        value = converter(value, column, connection)
    return value


M = TypeVar("M", bound=Model)


class Columns(Generic[M]):
    """The concrete columns of `model` read under the table alias `alias`: the SQL to select
    them (`sql`), where they start in the row (`start`: after those of `after`), how many they
    are (`width`), and the instance made of them (`build`)."""

    def __init__(self, model: type[M], alias: str, *, after: Columns[Any] | None = None) -> None:
        self.model = model
        self.alias = alias
        self.fields = list(model._meta.concrete_fields)
        self.start: int = after.end if after is not None else 0
        self.width: int = len(self.fields)
        self.attnames = [f.attname for f in self.fields]
        self.pk_index = self.attnames.index(model._meta.pk.attname)
        self._converters_on: dict[str, list[tuple[int, list[Callable[..., Any]], Any]]] = {}

    @cached_property
    def sql(self) -> str:
        return ", ".join(f'{self.alias}."{field.column}"' for field in self.fields)

    @property
    def table(self) -> str:
        return f'"{self.model._meta.db_table}" {self.alias}'

    def _converters(self, using: str) -> list[tuple[int, list[Callable[..., Any]], Any]]:
        """(position, converters, expression) of the columns whose values the ORM converts on `using`."""
        if using not in self._converters_on:
            connection = connections[using]
            found = []
            for i, field in enumerate(self.fields):
                column = field.get_col(self.alias)
                converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
                if converters:
                    found.append((i, converters, column))
            self._converters_on[using] = found
        return self._converters_on[using]

    @property
    def end(self) -> int:
        return self.start + self.width

    def build(self, row: Sequence[Any], *, using: str = "default") -> M | None:
        """The instance of its columns in `row`; None when a LEFT JOIN found none (its primary key
        is NULL)."""
        values = list(row[self.start : self.end])
        if values[self.pk_index] is None:
            return None
        connection = connections[using]
        for i, converters, column in self._converters(using):
            for converter in converters:
                values[i] = converter(values[i], column, connection)
        return self.model.from_db(using, self.attnames, values)
