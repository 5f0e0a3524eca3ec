"""The people of an allocation in the API: listed for whoever sees the allocation; added, removed and capped
by the organisation's owners and administrators (and the operators), through the same services as the page."""

from django.core.cache import cache
from django.shortcuts import get_object_or_404
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import User
from compute import kept
from compute.access import kept_visible_allocation
from compute.api.requests import PersonField
from compute.models import Allocation, AllocationMember
from compute.services import members as members_services
from core import pagecache
from core.roles import sees_all_organisations


class AllocationMemberSerializer(serializers.ModelSerializer):
    user_email = serializers.EmailField(source="user.email", read_only=True, allow_null=True)
    user_name = serializers.CharField(source="user.get_full_name", read_only=True, allow_null=True)

    class Meta:
        model = AllocationMember
        fields = ["id", "user", "user_email", "user_name", "cluster_username", "limit_amount", "added_at"]
        read_only_fields = fields


class AddAllocationMemberSerializer(serializers.Serializer):
    user = PersonField(
        help_text="The person's id or email address; a member of the allocation's organisation. They get (or "
        "keep) their one cluster identity, whose user name is read-only here."
    )
    limit_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        allow_null=True,
        default=None,
        help_text="Cap on this person's share, in the allocation's unit; null for no cap.",
    )


class CapAllocationMemberSerializer(serializers.Serializer):
    limit_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        allow_null=True,
        help_text="Cap on this person's share, in the allocation's unit (> 0, at most the grant); null lifts it.",
    )


MEMBER_ID = OpenApiParameter("member_id", int, OpenApiParameter.PATH, description="The cluster user's id.")


class AllocationMembersMixin:
    """``members/`` and ``members/<member_id>/`` under an allocation of ``AllocationViewSet``."""

    MEMBER_ACTIONS = ("members", "member")

    @extend_schema(methods=["get"], responses=AllocationMemberSerializer(many=True))
    @extend_schema(
        methods=["post"],
        request=AddAllocationMemberSerializer,
        responses={201: AllocationMemberSerializer},
    )
    @action(detail=True, methods=["get", "post"], url_path="members", pagination_class=None)
    def members(self, request, pk=None):
        """The people who may submit jobs under the allocation now; POST gives one more person access."""
        # Asked with GET: the allocation found once for this reader while nothing it needs changed.
        if request.method == "GET":
            return Response(_kept_members(request, kept_visible_allocation(request, pk)))
        allocation = self.get_object()
        members_services.require_people_manager(allocation, request.user)
        payload = AddAllocationMemberSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        member = members_services.add_allocation_member(
            allocation,
            by=request.user,
            user=_person(allocation, data["user"]),
            limit_amount=data["limit_amount"],
        )
        return Response(AllocationMemberSerializer(member).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["patch"],
        parameters=[MEMBER_ID],
        request=CapAllocationMemberSerializer,
        responses=AllocationMemberSerializer,
    )
    @extend_schema(methods=["delete"], parameters=[MEMBER_ID], request=None, responses={204: None})
    @action(detail=True, methods=["patch", "delete"], url_path=r"members/(?P<member_id>\d+)")
    def member(self, request, pk=None, member_id=None):
        """PATCH caps one person's share (``limit_amount``, null lifts it); DELETE takes them off: their running
        jobs finish, new ones are refused."""
        allocation = self.get_object()
        members_services.require_people_manager(allocation, request.user)
        member = get_object_or_404(
            AllocationMember.objects.current().select_related("user"), pk=member_id, allocation=allocation
        )
        if request.method == "DELETE":
            members_services.remove_allocation_member(member, by=request.user)
            return Response(status=status.HTTP_204_NO_CONTENT)
        payload = CapAllocationMemberSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        member = members_services.cap_allocation_member(
            member, by=request.user, limit_amount=payload.validated_data["limit_amount"]
        )
        return Response(AllocationMemberSerializer(member).data)


def _kept_members(request, allocation: Allocation) -> list:
    """The allocation's current cluster users, serialised: kept like a page of the API's allocation list
    (core.pagecache.KeptPublicList), per state of the allocations for staff alike and anyone else alone, minute
    and language, so asked again within a minute they cost no query. Only after the allocation was found for
    the person asking (``get_object``)."""
    user = request.user
    state = kept.ALLOCATIONS.audience_state(user, sees_all=sees_all_organisations(user))
    key = f"pagecache:api:allocation-members:{allocation.pk}:{state}:{pagecache.minute()}:{get_language()}"
    data = cache.get(key)
    if data is None:
        current = allocation.members.current().select_related("user").order_by("cluster_username")
        data = AllocationMemberSerializer(current, many=True).data
        cache.set(key, data, pagecache.BODY_SECONDS)
    return data


def _person(allocation, reference: int | str) -> User:
    """The member of the allocation's organisation named by id or email; nobody else is found (an address
    outside the organisation is not confirmed to exist)."""
    people = User.objects.filter(memberships__organisation=allocation.organisation)
    found = (
        people.filter(pk=reference) if isinstance(reference, int) else people.filter(email__iexact=reference)
    )
    person = found.first()
    if person is None:
        raise serializers.ValidationError(
            {"user": [_("“%(person)s” is not a member of the organisation.") % {"person": reference}]}
        )
    return person
