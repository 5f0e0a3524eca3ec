"""The incubation platform's public pages: its front page, open calls and the showcase of graduates."""

from django.core.cache import cache
from django.http import Http404
from django.shortcuts import render
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _

from accounts.models import Organisation
from core import pagecache
from core.pagination import paginate
from core.roles import SiteRole, has_site_role, sees_all_organisations
from core.text import bilingual
from projects.models import Application, Call, Project


def index(request):
    calls = list(Call.objects.open().select_related("programme").order_by("closes_at")[:6])
    showcase = list(
        Project.objects.showcase().select_related("organisation", "programme").order_by("-ended_at")[:3]
    )
    context = {"calls": calls, "showcase": showcase, "is_staff": sees_all_organisations(request.user)}
    if request.user.is_authenticated:
        context["my_applications"] = list(
            Application.objects.of_applicant(request.user).select_related("call").order_by("-id")[:5]
        )
        context["is_reviewer"] = has_site_role(request.user, SiteRole.REVIEWER)
    return render(request, "projects/index.html", context)


# The open calls' body (the same for every visitor): anew after any change of a call or programme (followed in
# projects/hooks.py) and each minute (calls open and close with time).
OPEN_CALLS = pagecache.Generation("projects-open-calls")


def call_list(request):
    calls = Call.objects.open().select_related("programme").order_by("closes_at", "id")
    return render(
        request,
        "projects/call_list.html",
        {
            "page": SimpleLazyObject(lambda: paginate(request, calls, per_page=20)),
            "body_key": OPEN_CALLS.body_key(request),
        },
    )


def call_detail(request, pk: int):
    """A call's page. A visitor's body is kept like the open calls' (per generation, minute and language), and
    so is the call's title, which also says whether it is published: a page seen in the last minute asks the
    database nothing."""
    visitor = not request.user.is_authenticated
    body_key = f"{OPEN_CALLS.body_key(request)}:{pk}" if visitor else None
    titles = cache.get(f"projects:call-title:{body_key}") if visitor else None
    if titles is None:
        titles = Call.objects.published().filter(pk=pk).values_list("title_zh", "title_en").first() or ()
        if visitor:
            cache.set(f"projects:call-title:{body_key}", titles, pagecache.BODY_SECONDS)
    if not titles:
        raise Http404(_("No such call."))
    call = SimpleLazyObject(lambda: Call.objects.select_related("programme").get(pk=pk))
    context = {
        "title": bilingual(*titles),
        "call": call,
        "programme": SimpleLazyObject(lambda: call.programme),
        "criteria": SimpleLazyObject(lambda: list(call.programme.criteria.all())),
        "eligible": [],
        "body_key": body_key,
        "body_seconds": pagecache.BODY_SECONDS,
    }
    if not visitor:
        organisations = (
            Organisation.objects.filter(memberships__user=request.user).verified().order_by("name_zh")
        )
        context["eligible"] = [o for o in organisations if call.programme.is_eligible(o)]
    return render(request, "projects/call_detail.html", context)


def showcase(request):
    projects = (
        Project.objects.showcase().select_related("organisation", "programme").order_by("-ended_at", "-id")
    )
    return render(request, "projects/showcase.html", {"page": paginate(request, projects, per_page=24)})
