"""Long tables on a page (长表格): searched, sorted and paged on the server from query parameters.

``?q=`` (words to find), ``?sort=`` (a column key the page offers), ``?dir=asc|desc`` and ``?page=`` (from 1) are read
by :data:`TableQueryDep`; :func:`page_of` applies them to rows the caller has already limited to the principal's scope
(the registry, head counts, movements), and :class:`TablePage` gives the template what it needs: the rows of the page,
the total, and links that keep the other parameters (``templates/_table.html`` draws the search box, the sortable
headers with ``aria-sort`` and the pager). A sort key the page does not offer is ignored, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, Query

from yigongti.core.labels import label

__all__ = ["PAGE_SIZE", "TablePage", "TableQuery", "TableQueryDep", "labels_text", "page_of", "pages_of",
           "table_query"]

T = TypeVar("T")
PAGE_SIZE = 50


@dataclass(frozen=True)
class TableQuery:
    """What the visitor asked of a long table: words to find, a column to sort by and its direction, a page."""

    q: str = ""
    sort: str = ""
    dir: Literal["asc", "desc"] = "asc"
    page: int = 1
    size: int = PAGE_SIZE

    @property
    def words(self) -> list[str]:
        return [w.casefold() for w in self.q.split()]


def table_query(q: Annotated[str, Query(max_length=100)] = "",
                sort: Annotated[str, Query(max_length=40, pattern=r"^[a-z_]*$")] = "",
                dir: Annotated[Literal["asc", "desc"], Query()] = "asc",
                page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> TableQuery:
    return TableQuery(q=q.strip(), sort=sort, dir=dir, page=page)


TableQueryDep = Annotated[TableQuery, Depends(table_query)]


@dataclass(frozen=True)
class TablePage(Generic[T]):
    """One page of a long table and the links around it; ``extra`` are the page's own parameters (e.g. ``year``)."""

    rows: list[T]
    total: int
    query: TableQuery
    sortable: tuple[str, ...]
    extra: tuple[tuple[str, str], ...] = ()

    @property
    def pages(self) -> int:
        return max(1, (self.total + self.query.size - 1) // self.query.size)

    @property
    def page(self) -> int:
        return min(self.query.page, self.pages)

    def href(self, **changes: Any) -> str:
        """The link to this table with ``changes`` (``sort``, ``dir``, ``page``, ``q``); a new sort goes to page 1."""
        q = replace(self.query, **changes)
        params = [*self.extra, ("q", q.q), ("sort", q.sort), ("dir", q.dir if q.sort else ""),
                  ("page", str(q.page) if q.page > 1 else "")]
        return "?" + urlencode([(k, v) for k, v in params if v])

    def sort_href(self, key: str) -> str:
        flip: Literal["asc", "desc"] = "desc" if self.query.sort == key and self.query.dir == "asc" else "asc"
        return self.href(sort=key, dir=flip, page=1)

    def aria_sort(self, key: str) -> str:
        if self.query.sort != key:
            return "none"
        return "ascending" if self.query.dir == "asc" else "descending"


def labels_text(group: str, code: object) -> str:
    """A code with both its labels, for the searched text of a row: the search box finds 卫生院 as well as township
    and the code itself (empty for no code)."""
    if code is None or code == "":
        return ""
    return f"{getattr(code, 'value', code)} {label(group, code, 'zh')} {label(group, code, 'en')}"


def _key(value: Any) -> tuple[int, Any]:
    """None last in either direction is not needed here: empty values sort first, as a spreadsheet does."""
    return (0, "") if value is None else (1, value)


def page_of(rows: Sequence[T], query: TableQuery, *, text: Callable[[T], str],
            keys: Mapping[str, Callable[[T], Any]], extra: Mapping[str, object] | None = None) -> TablePage[T]:
    """Rows matching every word of ``query.q`` in ``text(row)`` (case-insensitive), sorted by ``keys[query.sort]``
    (kept in their order when the key is not offered), the requested page of them."""
    words = query.words
    found = [r for r in rows if all(w in text(r).casefold() for w in words)] if words else list(rows)
    key = keys.get(query.sort)
    if key is None:
        query = replace(query, sort="", dir="asc")
    else:
        found.sort(key=lambda r: _key(key(r)), reverse=query.dir == "desc")
    size = query.size
    pages = max(1, (len(found) + size - 1) // size)
    start = (min(query.page, pages) - 1) * size
    params = tuple((k, str(v)) for k, v in (extra or {}).items() if v is not None and v != "")
    return TablePage(found[start:start + size], len(found), query, tuple(keys), params)


def pages_of(tables: Sequence[Sequence[T]], query: TableQuery, *, text: Callable[[T], str],
             keys: Mapping[str, Callable[[T], Any]], extra: Mapping[str, object] | None = None) -> list[TablePage[T]]:
    """Several tables of one page that answer one search box and one sort (a worklist's received and sent), each
    paged: :func:`page_of` of each."""
    return [page_of(rows, query, text=text, keys=keys, extra=extra) for rows in tables]
