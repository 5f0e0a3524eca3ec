"""REST API of the industry alliance: thin views over the services. The directory is public; the rest is for
signed-in people and shows only their own organisations' objects (others are 404)."""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Organisation
from alliance import directory, matching, profiles, services
from alliance.models import (
    AllianceMembership,
    AllianceProfile,
    CapabilityTag,
    DirectoryEntry,
    Interest,
    MembershipRenewal,
    MembershipStatus,
    Need,
    NeedKind,
    Scenario,
    Solution,
    Tier,
)
from core.pagination import CursorPagination
from core.roles import is_operator, is_supervisor

ID_RE = re.compile(r"^[0-9]{1,18}$")


class SupervisorsReadOnly(permissions.BasePermission):
    message = "Supervisors have read-only access."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return is_operator(request.user) or not is_supervisor(request.user)


def _reraise(error: DjangoValidationError):
    detail = error.message_dict if hasattr(error, "error_dict") else {"non_field_errors": error.messages}
    raise serializers.ValidationError(detail)


class AllianceCapabilitySerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = CapabilityTag
        fields = ["slug", "name", "name_zh", "name_en"]


# --- directory (public) ------------------------------------------------------------------------------


class DirectoryEntrySerializer(serializers.ModelSerializer):
    """Public values only: an entry never holds private or members-only fields."""

    organisation = serializers.IntegerField(source="organisation_id", read_only=True)
    tier_label = serializers.CharField(source="get_tier_display", read_only=True)
    capabilities = AllianceCapabilitySerializer(many=True, read_only=True)

    class Meta:
        model = DirectoryEntry
        fields = [
            "organisation",
            "name_zh",
            "name_en",
            "kind",
            "sector",
            "city",
            "tier",
            "tier_label",
            "member_since",
            "summary",
            "capabilities",
        ]
        read_only_fields = fields


class AllianceProfileSerializer(serializers.Serializer):
    description = serializers.CharField(required=False)
    website = serializers.CharField(required=False)
    contact_name = serializers.CharField(required=False)
    contact_email = serializers.CharField(required=False)
    contact_phone = serializers.CharField(required=False)
    logo = serializers.SerializerMethodField()
    capabilities = AllianceCapabilitySerializer(many=True, required=False)

    def get_logo(self, obj) -> str | None:
        logo = obj.get("logo")
        return logo.url if logo else None


class AllianceFacetValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    selected = serializers.BooleanField()


class DirectoryPagination(CursorPagination):
    ordering = "pk"


DIRECTORY_PARAMETERS = [
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description="Keywords (Chinese or English) in names, descriptions, capabilities and solutions.",
    ),
    OpenApiParameter(
        "kind",
        OpenApiTypes.STR,
        enum=["enterprise", "university", "research_institute", "government", "other"],
    ),
    OpenApiParameter("tier", OpenApiTypes.STR, enum=Tier.values),
    OpenApiParameter("sector", OpenApiTypes.STR),
    OpenApiParameter("city", OpenApiTypes.STR),
    OpenApiParameter(
        "capability", OpenApiTypes.STR, many=True, description="Capability short names (all must match)."
    ),
]


class DirectoryViewSet(viewsets.ReadOnlyModelViewSet):
    """The public alliance directory: current members with the same filters and search as the page."""

    serializer_class = DirectoryEntrySerializer
    permission_classes = [permissions.AllowAny]
    pagination_class = DirectoryPagination
    lookup_value_regex = r"[0-9]{1,18}"

    def get_queryset(self):
        query = directory.DirectoryQuery.from_params(self.request.query_params)
        return directory.entries(query).order_by("pk")

    @extend_schema(parameters=DIRECTORY_PARAMETERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        responses=inline_serializer(
            "DirectoryDetail", {"entry": DirectoryEntrySerializer(), "profile": AllianceProfileSerializer()}
        )
    )
    def retrieve(self, request, *args, **kwargs):
        entry = get_object_or_404(DirectoryEntry.objects.listed(), pk=kwargs["pk"])
        audience = profiles.audience(request.user, entry.pk)
        profile = (
            AllianceProfile.objects.filter(organisation_id=entry.pk).prefetch_related("capabilities").first()
        )
        shown = profiles.visible_profile(profile, audience)
        return Response(
            {"entry": DirectoryEntrySerializer(entry).data, "profile": AllianceProfileSerializer(shown).data}
        )

    @extend_schema(
        parameters=DIRECTORY_PARAMETERS,
        responses=inline_serializer(
            "DirectoryFacets",
            {
                name: AllianceFacetValueSerializer(many=True)
                for name in ("kind", "tier", "sector", "city", "capability")
            },
        ),
    )
    @action(detail=False)
    def facets(self, request):
        """Counts per facet value for the given filters."""
        query = directory.DirectoryQuery.from_params(request.query_params)
        return Response(
            {
                name: AllianceFacetValueSerializer(values, many=True).data
                for name, values in directory.facets(query).items()
            }
        )


# --- memberships -------------------------------------------------------------------------------------


class AllianceMembershipSerializer(serializers.ModelSerializer):
    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.none())
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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["organisation"].queryset = Organisation.objects.filter(memberships__user=request.user)

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


class MembershipViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """My organisations' alliance memberships (all of them for operators and supervisors); apply with POST."""

    serializer_class = AllianceMembershipSerializer
    permission_classes = [permissions.IsAuthenticated, SupervisorsReadOnly]

    def get_queryset(self):
        queryset = AllianceMembership.objects.for_user(self.request.user).select_related("organisation")
        status = self.request.query_params.get("status")
        if status in MembershipStatus.values:
            queryset = queryset.filter(status=status)
        return queryset

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.apply_for_membership(
            data["organisation"], by=self.request.user, tier=data["tier"], statement=data["statement"]
        )

    @extend_schema(request=None, responses=AllianceMembershipSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        membership = services.approve_membership(self.get_object(), by=request.user)
        return Response(self.get_serializer(membership).data)

    @extend_schema(request=AllianceReasonSerializer, responses=AllianceMembershipSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        reason = AllianceReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        membership = services.reject_membership(
            self.get_object(), by=request.user, reason=reason.validated_data["reason"]
        )
        return Response(self.get_serializer(membership).data)

    @extend_schema(request=AllianceReasonSerializer, responses=AllianceMembershipSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        reason = AllianceReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        membership = services.withdraw_membership(
            self.get_object(), by=request.user, reason=reason.validated_data["reason"]
        )
        return Response(self.get_serializer(membership).data)

    @extend_schema(
        request=inline_serializer("AllianceRenewalRequest", {"note": serializers.CharField(required=False)}),
        responses=AllianceRenewalSerializer,
    )
    @action(detail=True, methods=["post"])
    def renew(self, request, pk=None):
        note = request.data.get("note", "") if isinstance(request.data, dict) else ""
        renewal = services.request_renewal(self.get_object(), by=request.user, note=str(note)[:2001])
        return Response(AllianceRenewalSerializer(renewal).data, status=201)


# --- solutions ---------------------------------------------------------------------------------------


class AllianceSolutionSerializer(serializers.ModelSerializer):
    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.none())
    organisation_name = serializers.CharField(source="organisation.display_name", read_only=True)
    scenario = serializers.ChoiceField(choices=Scenario.choices)
    capabilities = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=CapabilityTag.objects.filter(is_active=True), required=False
    )
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Solution
        fields = [
            "id",
            "organisation",
            "organisation_name",
            "title",
            "scenario",
            "description",
            "outcome",
            "capabilities",
            "status",
            "created_at",
            "submitted_at",
            "decision_reason",
        ]
        read_only_fields = ["created_at", "submitted_at", "decision_reason"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["organisation"].queryset = Organisation.objects.filter(memberships__user=request.user)


class SolutionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """My organisations' solutions (operators and supervisors see all); POST submits one for moderation."""

    serializer_class = AllianceSolutionSerializer
    permission_classes = [permissions.IsAuthenticated, SupervisorsReadOnly]

    def get_queryset(self):
        user = self.request.user
        queryset = (
            Solution.objects.all() if is_operator(user) or is_supervisor(user) else Solution.objects.own(user)
        )
        return queryset.select_related("organisation").prefetch_related("capabilities")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organisation = data.pop("organisation")
        try:
            serializer.instance = matching.create_solution(organisation, by=self.request.user, **data)
        except DjangoValidationError as error:
            _reraise(error)


# --- needs and matches -------------------------------------------------------------------------------


class AllianceNeedSerializer(serializers.ModelSerializer):
    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.none())
    organisation_name = serializers.CharField(source="organisation.display_name", read_only=True)
    kind = serializers.ChoiceField(choices=NeedKind.choices)
    scenario = serializers.ChoiceField(choices=Scenario.choices)
    capabilities = serializers.SlugRelatedField(
        slug_field="slug", many=True, queryset=CapabilityTag.objects.filter(is_active=True), required=False
    )
    people = serializers.IntegerField(min_value=0, max_value=10000, required=False, default=0)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Need
        fields = [
            "id",
            "organisation",
            "organisation_name",
            "kind",
            "title",
            "description",
            "scenario",
            "capabilities",
            "skills",
            "people",
            "status",
            "created_at",
        ]
        read_only_fields = ["created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["organisation"].queryset = Organisation.objects.filter(memberships__user=request.user)


class AllianceMatchSerializer(serializers.Serializer):
    kind = serializers.CharField()
    organisation = serializers.IntegerField(source="organisation_id")
    organisation_name = serializers.CharField()
    solution = serializers.SerializerMethodField()
    solution_title = serializers.SerializerMethodField()
    score = serializers.IntegerField()
    reasons = serializers.ListField(child=serializers.CharField())

    def get_solution(self, obj) -> int | None:
        return obj.solution.pk if obj.solution else None

    def get_solution_title(self, obj) -> str | None:
        return obj.solution.title if obj.solution else None


class AllianceInterestSerializer(serializers.ModelSerializer):
    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.none())
    solution = serializers.PrimaryKeyRelatedField(
        queryset=Solution.objects.none(), required=False, allow_null=True
    )
    direction = serializers.CharField(read_only=True)

    class Meta:
        model = Interest
        fields = ["id", "need", "organisation", "solution", "direction", "message", "created_at"]
        read_only_fields = ["need", "created_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(directory_entry__isnull=False)
        self.fields["solution"].queryset = Solution.objects.filter(status="published")


class NeedViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Needs the person may see: their organisations' needs, and members' open needs for alliance members."""

    serializer_class = AllianceNeedSerializer
    permission_classes = [permissions.IsAuthenticated, SupervisorsReadOnly]

    def get_queryset(self):
        queryset = (
            Need.objects.for_user(self.request.user)
            .select_related("organisation")
            .prefetch_related("capabilities")
        )
        kind = self.request.query_params.get("kind")
        if kind in NeedKind.values:
            queryset = queryset.filter(kind=kind)
        return queryset

    @extend_schema(parameters=[OpenApiParameter("kind", OpenApiTypes.STR, enum=NeedKind.values)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organisation = data.pop("organisation")
        try:
            serializer.instance = matching.post_need(organisation, by=self.request.user, **data)
        except DjangoValidationError as error:
            _reraise(error)

    @extend_schema(responses=AllianceMatchSerializer(many=True))
    @action(detail=True, pagination_class=None)
    def matches(self, request, pk=None):
        """Suggested solutions and members for the need, best first, each with the reasons."""
        return Response(AllianceMatchSerializer(matching.matches_for(self.get_object()), many=True).data)

    @extend_schema(request=AllianceInterestSerializer, responses=AllianceInterestSerializer)
    @action(detail=True, methods=["post"])
    def interest(self, request, pk=None):
        """Express interest: offer your organisation (and a solution) for the need, or invite a member to it."""
        need = self.get_object()
        serializer = AllianceInterestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            interest = matching.express_interest(
                need,
                by=request.user,
                organisation=serializer.validated_data["organisation"],
                solution=serializer.validated_data.get("solution"),
                message=serializer.validated_data.get("message", ""),
            )
        except DjangoValidationError as error:
            _reraise(error)
        return Response(AllianceInterestSerializer(interest).data, status=201)
