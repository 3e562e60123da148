"""Long tables on a page (长表格): searched, sorted and paged on the server from query parameters.

``?q=`` (words to find), ``?sort=`` (a column key the page offers), ``?dir=asc|desc`` and ``?page=`` (from 1) are read
by :data:`TableQueryDep`; :func:`page_of` applies them to rows the caller has already limited to the principal's scope
(the registry, head counts, movements), and :class:`TablePage` gives the template what it needs: the rows of the page,
the total, and links that keep the other parameters (``templates/_table.html`` draws the search box, the sortable
headers with ``aria-sort`` and the pager). A sort key the page does not offer is ignored, never an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import urlencode

from fastapi import Depends, HTTPException, Query, Request

from yigongti.core.labels import label

__all__ = ["PAGE_SIZE", "TablePage", "TableQuery", "TableQueryDep", "labels_text", "page_of", "pages_of",
           "second_table_query", "table_query"]

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
    prefix: str = ""
    """Before each parameter's name for a second table of a page with its own search box (``iq``, ``isort``...)."""

    @property
    def words(self) -> list[str]:
        return [w.casefold() for w in self.q.split()]

    @property
    def params(self) -> tuple[tuple[str, str], ...]:
        """The parameters that ask for this state (defaults left out), under the table's prefix."""
        pairs = (("q", self.q), ("sort", self.sort), ("dir", self.dir if self.sort else ""),
                 ("page", str(self.page) if self.page > 1 else ""))
        return tuple((self.prefix + k, v) for k, v in pairs if v)


def table_query(q: Annotated[str, Query(max_length=100)] = "",
                sort: Annotated[str, Query(max_length=40, pattern=r"^[a-z_]*$")] = "",
                dir: Annotated[Literal["asc", "desc"], Query()] = "asc",
                page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> TableQuery:
    return TableQuery(q=q.strip(), sort=sort, dir=dir, page=page)


TableQueryDep = Annotated[TableQuery, Depends(table_query)]

_SORT_KEY = re.compile(r"^[a-z_]{0,40}$")


def second_table_query(prefix: str) -> Callable[[Request], TableQuery]:
    """A dependency reading ``{prefix}q``, ``{prefix}sort``, ``{prefix}dir`` and ``{prefix}page`` with the rules of
    :func:`table_query`, for a second long table of one page with its own search box; a bad value is a 422 naming the
    parameter."""

    def read(request: Request) -> TableQuery:
        p = request.query_params
        q, sort, direction, page = (p.get(prefix + k, "") for k in ("q", "sort", "dir", "page"))
        if len(q) > 100:
            raise HTTPException(422, f"{prefix}q: 最多 100 个字符 / at most 100 characters")
        if not _SORT_KEY.match(sort):
            raise HTTPException(422, f"{prefix}sort: 无效的排序列 / not a column key")
        if direction not in ("", "asc", "desc"):
            raise HTTPException(422, f"{prefix}dir: 应为 asc 或 desc / asc or desc")
        if page and not (page.isascii() and page.isdigit() and 1 <= int(page) <= 100_000):
            raise HTTPException(422, f"{prefix}page: 应为 1 至 100000 的整数 / a whole number from 1 to 100000")
        return TableQuery(q=q.strip(), sort=sort, dir="desc" if direction == "desc" else "asc",
                          page=int(page) if page else 1, prefix=prefix)

    return read


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
        return "?" + urlencode([*self.extra, *replace(self.query, **changes).params])

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
