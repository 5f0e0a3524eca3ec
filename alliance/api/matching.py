"""Solutions, needs, their matches and interest in the API."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Organisation
from alliance.api.common import OwnOrganisationSerializer
from alliance.models import CapabilityTag, Interest, Need, NeedKind, Scenario, Solution
from alliance.services import matching, needs, solutions
from core.roles import is_operator, is_supervisor


class AllianceSolutionSerializer(OwnOrganisationSerializer):
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


class SolutionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """My organisations' solutions (operators and supervisors see all); POST submits one for moderation."""

    serializer_class = AllianceSolutionSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        user = self.request.user
        queryset = (
            Solution.objects.all() if is_operator(user) or is_supervisor(user) else Solution.objects.own(user)
        )
        return queryset.select_related("organisation").prefetch_related("capabilities")

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organisation = data.pop("organisation")
        serializer.instance = solutions.create_solution(organisation, by=self.request.user, **data)


# --- needs and matches -------------------------------------------------------------------------------


class AllianceNeedSerializer(OwnOrganisationSerializer):
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
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        queryset = (
            Need.objects.for_user(self.request.user)
            .select_related("organisation")
            .prefetch_related("capabilities")
        )
        kind = self.request.query_params.get("kind")
        if kind is None:
            return queryset
        if kind not in NeedKind.values:
            # A filter that is not applied must not look applied: a 400 that names it.
            raise serializers.ValidationError(
                {"kind": [_("“%(value)s” is not one of the choices.") % {"value": kind}]}
            )
        return queryset.filter(kind=kind)

    @extend_schema(parameters=[OpenApiParameter("kind", OpenApiTypes.STR, enum=NeedKind.values)])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organisation = data.pop("organisation")
        serializer.instance = needs.post_need(organisation, by=self.request.user, **data)

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
        interest = needs.express_interest(
            need,
            by=request.user,
            organisation=serializer.validated_data["organisation"],
            solution=serializer.validated_data.get("solution"),
            message=serializer.validated_data.get("message", ""),
        )
        return Response(AllianceInterestSerializer(interest).data, status=201)
