"""List responses the Harbor way: ``q``/``sort``/``page``/``page_size`` in, a JSON array out with
``X-Total-Count`` and a ``Link`` header for the neighbouring pages."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

from fastapi import Query, Request
from fastapi.responses import JSONResponse

from ferry.api.query import (
    MAX_PAGE_SIZE,
    FieldKind,
    ListQuery,
    apply_query,
    link_header,
    parse_list_query,
)
from ferry.api.schemas import INT64_MAX, Digits

QText = Annotated[str | None, Query(description="Harbor query: k=v, k=~v (fuzzy), k=[a~b], k={a b}, k=(a b)")]
SortText = Annotated[str | None, Query(description="Fields to sort by, e.g. name,-creation_time")]
Page = Annotated[int | None, Digits, Query(ge=1, le=INT64_MAX, description="Page number, from 1")]
# The maximum is documented but checked by ``parse_list_query``, whose message says how to page on.
PageSize = Annotated[
    int | None,
    Digits,
    Query(
        ge=1,
        description=f"Items per page (default 10, at most {MAX_PAGE_SIZE})",
        json_schema_extra={"maximum": MAX_PAGE_SIZE},
    ),
]


def list_query(
    q: str | None,
    sort: str | None,
    page: int | None,
    page_size: int | None,
    fields: Mapping[str, FieldKind],
) -> ListQuery:
    return parse_list_query(q=q, sort=sort, page=page, page_size=page_size, fields=fields)


def page_response(
    request: Request, items: Sequence[Mapping[str, Any]], query: ListQuery, *, total: int | None = None
) -> JSONResponse:
    """``items`` are either every item (filtered, sorted and paged here) or, with ``total``, a page
    the store already cut."""
    if total is None:
        shown, total = apply_query(items, query)
    else:
        shown = list(items)
    headers = {"X-Total-Count": str(total)}
    link = link_header(
        request.url.path,
        dict(request.query_params),
        page=query.page,
        page_size=query.page_size,
        total=total,
    )
    if link:
        headers["Link"] = link
    return JSONResponse(list(shown), headers=headers)
