"""An index of a table's outlets for listing, searching, sorting and alias lookup.

Built once per loaded table (in the reload thread) so requests filter and sort a polars frame
instead of looping over every outlet.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections import defaultdict
from dataclasses import dataclass

import msgspec
import polars as pl

from reliability.table import OutletScore, ScoreTable


class SortKey(enum.StrEnum):
    WEIGHT = "weight"
    BIAS = "bias"
    N_REPORTS = "n_reports"


class Order(enum.StrEnum):
    ASC = "asc"
    DESC = "desc"


class CursorError(ValueError):
    """A cursor that is not one this API issued, or was issued for another sort order."""


class _Cursor(msgspec.Struct, array_like=True, frozen=True):
    sort: SortKey
    order: Order
    key: float
    outlet: str
    metric: str


def encode_cursor(sort: SortKey, order: Order, key: float, outlet: str, metric: str) -> str:
    """An opaque token for the page after the row ``(key, outlet, metric)``."""
    raw = msgspec.json.encode(_Cursor(sort, order, key, outlet, metric))
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, sort: SortKey, order: Order) -> _Cursor:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        cursor = msgspec.json.decode(raw, type=_Cursor)
    except (binascii.Error, ValueError, msgspec.DecodeError) as error:
        raise CursorError("the cursor is not one this API issued") from error
    if (cursor.sort, cursor.order) != (sort, order):
        raise CursorError(
            f"the cursor was issued for sort={cursor.sort.value}&order={cursor.order.value}; "
            "repeat the same sort and order, or drop the cursor"
        )
    return cursor


@dataclass(frozen=True, slots=True)
class Page:
    items: list[OutletScore]
    next_cursor: str | None


class OutletCatalog:
    """Outlet rows of one table, with alias resolution."""

    def __init__(self, table: ScoreTable) -> None:
        self.scores = table.outlets
        by_outlet: defaultdict[str, list[OutletScore]] = defaultdict(list)
        for score in table.outlets:
            by_outlet[score.outlet].append(score)
        self.by_outlet = dict(by_outlet)
        self.aliases: dict[str, str] = {}
        # exact names win over aliases, and both over case-insensitive matches
        for score in table.outlets:
            for alias in score.aliases:
                self.aliases.setdefault(alias.casefold(), score.outlet)
        for score in table.outlets:
            for alias in score.aliases:
                self.aliases[alias] = score.outlet
        for outlet in self.by_outlet:
            self.aliases[outlet] = outlet
        self.frame = pl.DataFrame(
            {
                "row": range(len(table.outlets)),
                "outlet": [s.outlet for s in table.outlets],
                "metric": [s.metric for s in table.outlets],
                "group": [s.group for s in table.outlets],
                "search": [
                    "\n".join([s.outlet, s.name or "", *s.aliases]).casefold()
                    for s in table.outlets
                ],
                SortKey.WEIGHT.value: [s.weight for s in table.outlets],
                SortKey.BIAS.value: [s.bias.estimate for s in table.outlets],
                SortKey.N_REPORTS.value: [float(s.n_reports) for s in table.outlets],
            },
            schema={
                "row": pl.Int64(),
                "outlet": pl.String(),
                "metric": pl.String(),
                "group": pl.String(),
                "search": pl.String(),
                SortKey.WEIGHT.value: pl.Float64(),
                SortKey.BIAS.value: pl.Float64(),
                SortKey.N_REPORTS.value: pl.Float64(),
            },
        )

    def resolve(self, name: str) -> str | None:
        """The canonical outlet for a name or alias (exact first, then ignoring case)."""
        return self.aliases.get(name) or self.aliases.get(name.casefold())

    def page(
        self,
        *,
        group: str | None,
        metric: str | None,
        query: str | None,
        sort: SortKey,
        order: Order,
        limit: int,
        cursor: str | None,
    ) -> Page:
        """One page of rows, sorted by ``sort`` then outlet and metric (a total order)."""
        frame = self.frame.lazy()
        if group is not None:
            frame = frame.filter(pl.col("group") == group)
        if metric is not None:
            frame = frame.filter(pl.col("metric") == metric)
        if query:
            frame = frame.filter(pl.col("search").str.contains(query.casefold(), literal=True))
        key = pl.col(sort.value)
        if cursor is not None:
            after = decode_cursor(cursor, sort, order)
            beyond = key > after.key if order is Order.ASC else key < after.key
            tie = (key == after.key) & (
                (pl.col("outlet") > after.outlet)
                | ((pl.col("outlet") == after.outlet) & (pl.col("metric") > after.metric))
            )
            frame = frame.filter(beyond | tie)
        rows = (
            frame.sort(
                [sort.value, "outlet", "metric"], descending=[order is Order.DESC, False, False]
            )
            .head(limit + 1)
            .collect()
        )
        items = [self.scores[row] for row in rows["row"].head(limit)]
        next_cursor = None
        if rows.height > limit:
            last = rows.row(limit - 1, named=True)
            next_cursor = encode_cursor(
                sort, order, last[sort.value], last["outlet"], last["metric"]
            )
        return Page(items=items, next_cursor=next_cursor)
