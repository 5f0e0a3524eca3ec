"""Allocations in the API: read with their usage; suspended, resumed, closed and re-synchronised."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from compute import kept, usage
from compute.api.base import (
    OnPartitionSerializer,
    OrganisationFilterSerializer,
    OrganisationObjectsMixin,
    object_action,
    query_params,
)
from compute.api.members import AllocationMembersMixin
from compute.models import Allocation, AllocationStatus
from compute.services import allocations as allocation_services
from compute.services.requests import MAX_PERIOD_DAYS
from core import pagecache
from core.roles import sees_all_organisations


class AllocationSerializer(OnPartitionSerializer):
    unit = serializers.CharField(source="partition.unit", read_only=True)
    remaining = serializers.DecimalField(
        source="remaining_amount", max_digits=None, decimal_places=4, read_only=True
    )
    used_percent = serializers.DecimalField(max_digits=None, decimal_places=1, read_only=True)
    members = serializers.SerializerMethodField(help_text="Cluster usernames with access to the account.")

    class Meta:
        model = Allocation
        fields = [
            *OnPartitionSerializer.LEADING_FIELDS,
            "unit",
            "request",
            "account_name",
            "status",
            "status_changed_at",
            "granted_amount",
            "used_amount",
            "remaining",
            "used_percent",
            "start_date",
            "end_date",
            "members",
            "provisioned_at",
            "last_synced_at",
            "sync_error",
            "sync_attempts",
            "usage_updated_at",
            "created_at",
        ]
        read_only_fields = fields

    def get_members(self, obj) -> list[str]:
        return sorted(m.cluster_username for m in obj.members.all() if m.is_current)


class AllocationFilterSerializer(OrganisationFilterSerializer):
    status = serializers.ChoiceField(choices=AllocationStatus.choices, required=False)


class AllocationUsageQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=MAX_PERIOD_DAYS, default=30)


class DailyUnitsSerializer(serializers.Serializer):
    day = serializers.DateField()
    units = serializers.DecimalField(max_digits=None, decimal_places=4)


class ClusterUserUsageSerializer(serializers.Serializer):
    cluster_user = serializers.CharField()
    units = serializers.DecimalField(max_digits=None, decimal_places=4)
    jobs = serializers.IntegerField()


class AllocationUsageSerializer(serializers.Serializer):
    allocation = serializers.IntegerField()
    unit = serializers.CharField()
    granted_amount = serializers.DecimalField(max_digits=None, decimal_places=2)
    used_amount = serializers.DecimalField(max_digits=None, decimal_places=4)
    usage_updated_at = serializers.DateTimeField(allow_null=True)
    daily = DailyUnitsSerializer(many=True, help_text="One row per day, oldest first, zero when idle.")
    top_users = ClusterUserUsageSerializer(many=True)


class SuspendAllocationSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


class CloseAllocationSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


@extend_schema_view(list=extend_schema(parameters=[AllocationFilterSerializer]))
class AllocationViewSet(
    pagecache.KeptPublicList, AllocationMembersMixin, OrganisationObjectsMixin, viewsets.ReadOnlyModelViewSet
):
    """Allocations of my organisations (all of them for operators and supervisors), with their usage.

    Operators suspend, resume, close and retry the cluster synchronisation; the organisation's owners and
    administrators may close their own, and add, remove and cap its cluster users (``members/``).
    Filter with ``?status=`` and ``?organisation=<id>``.
    """

    serializer_class = AllocationSerializer
    filter_class = AllocationFilterSerializer
    permission_classes = [permissions.IsAuthenticated]

    def kept_state(self) -> str:
        """A page of the list is kept like the allocation list page (compute/kept.py)."""
        user = self.request.user
        return kept.ALLOCATIONS.audience_state(user, sees_all=sees_all_organisations(user))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Allocation.objects.none()
        queryset = Allocation.objects.for_user(self.request.user).select_related("organisation", "partition")
        if self.action not in AllocationMembersMixin.MEMBER_ACTIONS:
            # An allocation's answer lists its cluster users; ``members/`` reads its own rows.
            queryset = queryset.prefetch_related("members")
        return self.filter_list(queryset)

    @extend_schema(parameters=[AllocationUsageQuerySerializer], responses=AllocationUsageSerializer)
    @action(detail=True, methods=["get"])
    def usage(self, request, pk=None):
        allocation = self.get_object()
        days = query_params(AllocationUsageQuerySerializer, request)["days"]
        data = {
            "allocation": allocation.pk,
            "unit": allocation.partition.unit,
            "granted_amount": allocation.granted_amount,
            "used_amount": allocation.used_amount,
            "usage_updated_at": allocation.usage_updated_at,
            "daily": [{"day": day, "units": units} for day, units in usage.daily_series(allocation, days)],
            "top_users": usage.top_users(allocation),
        }
        return Response(AllocationUsageSerializer(data).data)

    suspend = object_action(
        "suspend",
        allocation_services.suspend_allocation,
        SuspendAllocationSerializer,
        answer=AllocationSerializer,
    )
    resume = object_action("resume", allocation_services.resume_allocation, answer=AllocationSerializer)
    close = object_action(
        "close", allocation_services.close_allocation, CloseAllocationSerializer, answer=AllocationSerializer
    )
    retry_sync = object_action(
        "retry_sync",
        allocation_services.retry_sync,
        answer=AllocationSerializer,
        status_code=status.HTTP_202_ACCEPTED,
        url_path="retry-sync",
    )
