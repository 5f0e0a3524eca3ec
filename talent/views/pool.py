"""The talent pool's pages: verified alliance members search it and write to people (see talent/pool.py)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.models import Organisation
from core.exceptions import DomainError
from core.pagination import paginate
from talent.models import Category
from talent.pool import contact_person, pool, searching_organisations


def _require_searcher(request) -> list[Organisation]:
    organisations = searching_organisations(request.user)
    if not organisations:
        raise PermissionDenied(
            _(
                "The talent pool is open to verified organisations that are current members of the industry "
                "alliance. Join the alliance from the alliance pages."
            )
        )
    return organisations


@login_required
def talent_pool(request):
    organisations = _require_searcher(request)
    query = (request.GET.get("q") or "").strip()[:100]
    category = request.GET.get("category", "")
    people = paginate(request, pool(query=query, category=category), per_page=20)
    for person in people.object_list:
        person.pool_certificates = [
            e.certificate for e in person.enrolments.all() if getattr(e, "certificate", None) is not None
        ]
    return render(
        request,
        "talent/pool.html",
        {
            "page": people,
            "query": query,
            "category": category if category in Category.values else "",
            "categories": Category.choices,
            "organisations": organisations,
        },
    )


@login_required
@require_POST
def talent_pool_contact(request, pk):
    organisations = _require_searcher(request)
    person = get_object_or_404(pool(), pk=pk)
    organisation = next(
        (o for o in organisations if str(o.pk) == request.POST.get("organisation")), organisations[0]
    )
    try:
        contact_person(
            person, by=request.user, organisation=organisation, message=request.POST.get("message", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Your message was sent to %(name)s. If they are interested, they will answer you by email.")
            % {"name": person.get_full_name() or _("the person")},
        )
    return redirect("talent:pool")
