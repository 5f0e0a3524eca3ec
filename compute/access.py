"""Finding an allocation for the person asking, on pages and in the API: another organisation's does not exist
for them (404)."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from compute import kept
from compute.models import Allocation
from core import pagecache
from core.web import parse_id


def visible_allocation(request, pk, *, related=("organisation", "partition")) -> Allocation:
    """The allocation ``pk`` as the person asking may see it, with its ``related`` rows; another organisation's
    does not exist for them (404)."""
    allocations = Allocation.objects.for_user(request.user)
    if related:  # select_related() without names would join every foreign key
        allocations = allocations.select_related(*related)
    return get_object_or_404(allocations, pk=pk)


def kept_visible_allocation(request, pk) -> Allocation:
    """``visible_allocation`` without related rows, for a page whose body is kept (it reads them when it makes
    the body): kept for this reader while the allocations and what they may see are the same (a save or an
    update of an allocation, and the reader's memberships and roles, start those generations anew). An
    allocation they may not see is not kept: it is looked for again, and is a 404 again; nor is one being set
    up, whose status moves on by itself."""
    allocation_id = parse_id(pk)  # from the API's route, any string
    if allocation_id is None:
        raise Http404
    return pagecache.kept_lookup(
        request,
        f"allocation:{allocation_id}",
        kept.ALLOCATIONS,
        lambda: visible_allocation(request, allocation_id, related=()),
        keep=lambda allocation: not allocation.is_in_flight,
    )
