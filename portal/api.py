"""Shared pieces of the REST API."""

from rest_framework import pagination


class CursorPagination(pagination.CursorPagination):
    """Keyset pagination: constant cost on any page, no COUNT(*) over large tables."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200
