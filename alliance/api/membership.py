"""Alliance memberships in the API: apply, decide, withdraw and ask for a renewal."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from alliance import kept
from alliance.api.common import OwnOrganisationSerializer
from alliance.models import AllianceMembership, MembershipRenewal, MembershipStatus, Tier
from alliance.services import membership as membership_services
from core import pagecache
from core.roles import sees_all_organisations


class AllianceMembershipSerializer(OwnOrganisationSerializer):
    organisation_name = serializers.CharField(source="organisation.display_name", read_only=True)
    status = serializers.CharField(read_only=True)
    computed_status = serializers.SerializerMethodField()
    tier = serializers.ChoiceField(choices=Tier.choices, default=Tier.MEMBER)

    class Meta:
        model = AllianceMembership
        fields = [
            "id",
            "organisation",
            "organisation_name",
            "tier",
            "statement",
            "status",
            "computed_status",
            "start_date",
            "end_date",
            "applied_at",
            "decided_at",
            "decision_reason",
        ]
        read_only_fields = ["start_date", "end_date", "applied_at", "decided_at", "decision_reason"]

    def get_computed_status(self, obj) -> str:
        return obj.computed_status()


class AllianceReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class AllianceRenewalSerializer(serializers.ModelSerializer):
    class Meta:
        model = MembershipRenewal
        fields = [
            "id",
            "membership",
            "status",
            "note",
            "requested_at",
            "decided_at",
            "decision_reason",
            "new_end_date",
        ]
        read_only_fields = fields


class MembershipViewSet(pagecache.KeptPublicList, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """My organisations' alliance memberships (all of them for operators and supervisors); apply with POST.

    The list's pages are kept (core.pagecache.KeptPublicList) per state of the memberships, for staff alike and
    anyone else alone (their organisations follow their own generation)."""

    serializer_class = AllianceMembershipSerializer
    permission_classes = [permissions.IsAuthenticated]

    def kept_state(self) -> str:
        user = self.request.user
        return kept.MEMBERSHIPS.audience_state(user, sees_all=sees_all_organisations(user))

    def get_queryset(self):
        queryset = AllianceMembership.objects.for_user(self.request.user).select_related("organisation")
        status = self.request.query_params.get("status")
        if status in MembershipStatus.values:
            queryset = queryset.filter(status=status)
        return queryset

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = membership_services.apply_for_membership(
            data["organisation"], by=self.request.user, tier=data["tier"], statement=data["statement"]
        )

    def _with_reason(self, request, service):
        reason = AllianceReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        membership = service(self.get_object(), by=request.user, reason=reason.validated_data["reason"])
        return Response(self.get_serializer(membership).data)

    @extend_schema(request=None, responses=AllianceMembershipSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        membership = membership_services.approve_membership(self.get_object(), by=request.user)
        return Response(self.get_serializer(membership).data)

    @extend_schema(request=AllianceReasonSerializer, responses=AllianceMembershipSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._with_reason(request, membership_services.reject_membership)

    @extend_schema(request=AllianceReasonSerializer, responses=AllianceMembershipSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._with_reason(request, membership_services.withdraw_membership)

    @extend_schema(
        request=inline_serializer("AllianceRenewalRequest", {"note": serializers.CharField(required=False)}),
        responses=AllianceRenewalSerializer,
    )
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        note = request.data.get("note", "") if isinstance(request.data, dict) else ""
        renewal = membership_services.request_renewal(
            self.get_object(), by=request.user, note=str(note)[:2001]
        )
        return Response(AllianceRenewalSerializer(renewal).data, status=201)
