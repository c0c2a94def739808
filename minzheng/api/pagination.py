"""Page-number pagination for every list of the API: a page past the end is the last page.

ninja's PageNumberPagination turns `?page=221611305610406787022848` into an OFFSET the database
cannot hold (a 500 on SQLite and PostgreSQL alike), and a page just past the end into an empty list
that looks like "no records". Here the page is clamped to the last one (the first when the list is
empty), so a client that keeps the page number of a shrinking list still sees its end; `count` says
how many records there are in all.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Field, Schema
from ninja.pagination import PageNumberPagination


class BoundedPageNumberPagination(PageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, description="页码；超过最后一页时返回最后一页")
        page_size: int | None = Field(None, ge=1, le=1000, description="每页条数")

    def paginate_queryset(
        self,
        queryset: QuerySet[Any],
        pagination: Any,
        request: HttpRequest,
        **params: Any,
    ) -> Any:
        page_size = self._get_page_size(pagination.page_size)
        count = self._items_count(queryset)
        last = max(1, -(-count // page_size))
        offset = (min(pagination.page, last) - 1) * page_size
        return {self.items_attribute: queryset[offset : offset + page_size], "count": count}
