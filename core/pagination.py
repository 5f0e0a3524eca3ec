"""Pagination for HTML lists without COUNT(*): fetch one row more than a page to know if there is a next."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from rest_framework import pagination
from rest_framework.exceptions import ValidationError

PAGE_SIZE = 50


@dataclass
class Page:
    object_list: list
    number: int
    has_next: bool
    query_string: str

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    @property
    def next_query(self) -> str:
        return self._query(self.number + 1)

    @property
    def previous_query(self) -> str:
        return self._query(self.number - 1)

    def _query(self, number: int) -> str:
        params = f"page={number}"
        return f"?{self.query_string}&{params}" if self.query_string else f"?{params}"

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)


def page_number(request) -> int:
    """The ``?page=`` asked for, from 1 to 10,000 (1 when it is not a number)."""
    try:
        return max(1, min(int(request.GET.get("page", 1)), 10_000))
    except (TypeError, ValueError):
        return 1


def paginate(request, queryset, *, per_page: int = PAGE_SIZE) -> Page:
    number = page_number(request)
    start = (number - 1) * per_page
    rows = list(queryset[start : start + per_page + 1])
    query = urlencode([(k, v) for k, v in request.GET.items() if k != "page" and v])
    return Page(object_list=rows[:per_page], number=number, has_next=len(rows) > per_page, query_string=query)


def safe_next(request, default: str) -> str:
    """The ``next`` parameter if it points inside this site, else ``default`` (a URL name or path)."""
    candidate = request.POST.get("next") or request.GET.get("next")
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


class CursorPagination(pagination.CursorPagination):
    """The API's lists: keyset pagination, constant cost on any page, no COUNT(*) over large tables."""

    ordering = "-id"
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        """``page_size`` from 1 to ``max_page_size``; anything else is a 400 that says so (DRF would quietly
        use the default, and a client would never learn that its parameter was wrong)."""
        value = request.query_params.get(self.page_size_query_param)
        if value is None:
            return self.page_size
        if not (value.isascii() and value.isdigit() and 1 <= int(value) <= self.max_page_size):
            raise ValidationError(
                {
                    self.page_size_query_param: [
                        _("Give a whole number from 1 to %(max)d.") % {"max": self.max_page_size}
                    ]
                }
            )
        return int(value)

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"].update(minimum=1, maximum=self.max_page_size)
        return parameters
