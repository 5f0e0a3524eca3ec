"""REST API of the incubation platform: thin views over ``projects.services``.

Applicants' representations never name reviewers (blind review); operators and supervisors see them.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Organisation, User
from core.roles import SiteRole, has_site_role, is_operator, is_supervisor, sees_all_organisations
from projects import services
from projects.models import (
    DECISIONS,
    SCORE_MAX,
    SCORE_MIN,
    Application,
    ApplicationStatus,
    AssignmentStatus,
    Attachment,
    Call,
    Criterion,
    Programme,
    Project,
    ProjectStatus,
    Recommendation,
    ReviewAssignment,
)

MAX_ID = 2**63 - 1


class SupervisorsReadOnly(permissions.BasePermission):
    message = "Supervisors have read-only access."

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return is_operator(request.user) or not is_supervisor(request.user)


class IsReviewer(permissions.BasePermission):
    message = "Only the center's expert reviewers have review assignments."

    def has_permission(self, request, view):
        return has_site_role(request.user, SiteRole.REVIEWER)


# --- calls --------------------------------------------------------------------------------------------


class CriterionSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Criterion
        fields = ["id", "name", "name_zh", "name_en", "guidance", "weight"]
        read_only_fields = fields


class ProgrammeSerializer(serializers.ModelSerializer):
    title = serializers.CharField(read_only=True)
    criteria = CriterionSerializer(many=True, read_only=True)
    score_scale = serializers.SerializerMethodField()

    class Meta:
        model = Programme
        fields = [
            "id",
            "slug",
            "theme",
            "title",
            "title_zh",
            "title_en",
            "description_zh",
            "description_en",
            "eligible_kinds",
            "voucher_amount",
            "offers_mentoring",
            "offers_demo_day",
            "criteria",
            "score_scale",
        ]
        read_only_fields = fields

    def get_score_scale(self, obj) -> dict:
        return {"min": SCORE_MIN, "max": SCORE_MAX, "not_applicable": True}


class CallSerializer(serializers.ModelSerializer):
    title = serializers.CharField(read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    programme = ProgrammeSerializer(read_only=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "title",
            "title_zh",
            "title_en",
            "opens_at",
            "closes_at",
            "review_deadline",
            "max_card_hours",
            "is_open",
            "programme",
        ]
        read_only_fields = fields


class CallViewSet(viewsets.ReadOnlyModelViewSet):
    """Open calls of the incubation programmes, with eligibility, benefits and review criteria. Public."""

    serializer_class = CallSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        calls = Call.objects.published().select_related("programme").prefetch_related("programme__criteria")
        if self.action == "list":
            calls = calls.open()
        return calls.order_by("closes_at", "id")


# --- applications ---------------------------------------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "original_name", "size", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, obj) -> str:
        return obj.get_absolute_url()


@extend_schema_field(
    {"type": "string", "enum": ApplicationStatus.values}, component_name="ApplicationStatusEnum"
)
class ApplicationStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=ApplicationStatus.choices, **kwargs)


class ApplicationSerializer(serializers.ModelSerializer):
    """What applicants see: their application, its status in their words and the decision; no reviewer."""

    call = serializers.PrimaryKeyRelatedField(queryset=Call.objects.none())
    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.none())
    status = ApplicationStatusField(read_only=True)
    status_label = serializers.CharField(source="applicant_status_label", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)
    compute_card_hours = serializers.IntegerField(min_value=0, max_value=10**7, required=False)

    class Meta:
        model = Application
        fields = [
            "id",
            "call",
            "organisation",
            *Application.CONTENT_FIELDS,
            "status",
            "status_label",
            "information_request",
            "determination_message",
            "attachments",
            "created_at",
            "updated_at",
            "submitted_at",
            "decided_at",
        ]
        read_only_fields = [
            "information_request",
            "determination_message",
            "created_at",
            "updated_at",
            "submitted_at",
            "decided_at",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["call"].queryset = Call.objects.published()
            self.fields["organisation"].queryset = Organisation.objects.filter(memberships__user=request.user)


class ApplicationUpdateSerializer(ApplicationSerializer):
    call = serializers.PrimaryKeyRelatedField(read_only=True)
    organisation = serializers.PrimaryKeyRelatedField(read_only=True)
    title = serializers.CharField(max_length=200, required=False)


@extend_schema_field(
    {"type": "string", "enum": AssignmentStatus.values}, component_name="ReviewAssignmentStatusEnum"
)
class AssignmentStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=AssignmentStatus.choices, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "enum": [*Recommendation.values, ""],
        "description": "yes, maybe or no; empty before a review.",
    },
    component_name="ReviewRecommendationEnum",
)
class RecommendationField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        kwargs.setdefault("allow_blank", True)
        super().__init__(choices=Recommendation.choices, **kwargs)


class StaffAssignmentSerializer(serializers.ModelSerializer):
    status = AssignmentStatusField(read_only=True)
    recommendation = RecommendationField(read_only=True)
    reviewer_email = serializers.EmailField(source="reviewer.email", read_only=True)

    class Meta:
        model = ReviewAssignment
        fields = [
            "id",
            "reviewer",
            "reviewer_email",
            "status",
            "recommendation",
            "weighted_score",
            "submitted_at",
        ]
        read_only_fields = fields


class StaffApplicationSerializer(ApplicationSerializer):
    """What operators and supervisors see: the staff status and the reviewers."""

    status_label = serializers.CharField(source="get_status_display", read_only=True)
    assignments = StaffAssignmentSerializer(many=True, read_only=True)

    class Meta(ApplicationSerializer.Meta):
        fields = [*ApplicationSerializer.Meta.fields, "assignments"]


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField(max_length=5000)


class AssignSerializer(serializers.Serializer):
    reviewer = serializers.IntegerField(min_value=1, max_value=MAX_ID)


class DecisionSerializer(serializers.Serializer):
    decision = serializers.ChoiceField(choices=[s.value for s in DECISIONS])
    message = serializers.CharField(
        max_length=10000,
        required=False,
        allow_blank=True,
        help_text="Left out: the standard text for the decision.",
    )


class ApplicationFilterSerializer(serializers.Serializer):
    status = ApplicationStatusField(required=False)
    call = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


def _staff(user) -> bool:
    return sees_all_organisations(user)


@extend_schema_view(
    list=extend_schema(parameters=[ApplicationFilterSerializer], responses=ApplicationSerializer(many=True)),
    retrieve=extend_schema(responses=ApplicationSerializer),
    create=extend_schema(request=ApplicationSerializer, responses={201: ApplicationSerializer}),
    partial_update=extend_schema(request=ApplicationUpdateSerializer, responses=ApplicationSerializer),
)
class ApplicationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Incubation applications: mine (my organisations' and those I am co-applicant of), or all for staff.

    Applicants create drafts, edit them while editable, submit and withdraw. Operators screen, ask for more
    information, assign reviewers, close the review and decide. Operators' and supervisors' answers add the
    reviewers (``assignments``); applicants never see them.
    """

    permission_classes = [permissions.IsAuthenticated, SupervisorsReadOnly]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Application.objects.none()
        queryset = (
            Application.objects.for_user(self.request.user)
            .select_related("call", "organisation")
            .prefetch_related("attachments")
            .order_by("-id")
        )
        if _staff(self.request.user):
            queryset = queryset.prefetch_related("assignments__reviewer")
        if self.action == "list":
            params = ApplicationFilterSerializer(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            if "status" in params.validated_data:
                queryset = queryset.filter(status=params.validated_data["status"])
            if "call" in params.validated_data:
                queryset = queryset.filter(call_id=params.validated_data["call"])
        return queryset

    def get_serializer_class(self):
        if self.action == "partial_update":
            return ApplicationUpdateSerializer
        if _staff(self.request.user) and self.action in ("list", "retrieve"):
            return StaffApplicationSerializer
        return ApplicationSerializer

    def _respond(self, application, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=application.pk)
        cls = StaffApplicationSerializer if _staff(self.request.user) else ApplicationSerializer
        return Response(cls(fresh, context=self.get_serializer_context()).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = ApplicationSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        call, organisation = data.pop("call"), data.pop("organisation")
        application = services.create_application(call, by=request.user, organisation=organisation, **data)
        return self._respond(application, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        application = self.get_object()
        serializer = ApplicationUpdateSerializer(
            application, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        application = services.update_application(application, by=request.user, **serializer.validated_data)
        return self._respond(application)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Submit a draft, or resubmit after the center asked for more information (a revision is kept)."""
        return self._respond(services.submit_application(self.get_object(), by=request.user))

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._respond(services.withdraw_application(self.get_object(), by=request.user))

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="start-screening")
    def start_screening(self, request, pk=None):
        """Operators: start screening a submitted application."""
        return self._respond(services.start_screening(self.get_object(), by=request.user))

    @extend_schema(request=MessageSerializer, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="request-information")
    def request_information(self, request, pk=None):
        """Operators: send the application back to the applicants for more information."""
        body = MessageSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(
            services.request_information(
                self.get_object(), by=request.user, message=body.validated_data["message"]
            )
        )

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request, pk=None):
        return self._respond(services.start_review(self.get_object(), by=request.user))

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="close-review")
    def close_review(self, request, pk=None):
        return self._respond(services.close_review(self.get_object(), by=request.user))

    @extend_schema(request=AssignSerializer, responses={201: StaffAssignmentSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Operators: assign a reviewer (refused with 409 for a reviewer of the applying organisation)."""
        application = self.get_object()
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        reviewer = get_object_or_404(User, pk=body.validated_data["reviewer"], is_active=True)
        assignment = services.assign_reviewer(application, reviewer, by=request.user)
        return Response(StaffAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionSerializer, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """Operators: accept, waitlist or reject with a message to the applicants (emailed)."""
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._respond(
            services.decide_application(
                self.get_object(),
                by=request.user,
                decision=body.validated_data["decision"],
                message=body.validated_data.get("message", ""),
            )
        )


# --- reviews --------------------------------------------------------------------------------------------


class ReviewApplicationSerializer(serializers.ModelSerializer):
    organisation_name = serializers.CharField(source="organisation.display_name", read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta:
        model = Application
        fields = ["id", "call", "organisation_name", *Application.CONTENT_FIELDS, "attachments"]
        read_only_fields = fields


class ScoreSerializer(serializers.Serializer):
    criterion = serializers.IntegerField()
    score = serializers.IntegerField(allow_null=True, help_text="0–5, or null for N/A.")


class ReviewAssignmentSerializer(serializers.ModelSerializer):
    status = AssignmentStatusField(read_only=True)
    recommendation = RecommendationField(read_only=True)
    application = ReviewApplicationSerializer(read_only=True)
    criteria = serializers.SerializerMethodField()
    scores = serializers.SerializerMethodField()

    class Meta:
        model = ReviewAssignment
        fields = [
            "id",
            "status",
            "application",
            "criteria",
            "scores",
            "recommendation",
            "comments",
            "weighted_score",
            "assigned_at",
            "saved_at",
            "submitted_at",
            "conflict_of_interest",
        ]
        read_only_fields = fields

    @extend_schema_field(CriterionSerializer(many=True))
    def get_criteria(self, obj):
        return CriterionSerializer(obj.application.call.programme.criteria.all(), many=True).data

    @extend_schema_field(ScoreSerializer(many=True))
    def get_scores(self, obj):
        return [{"criterion": s.criterion_id, "score": s.score} for s in obj.scores.all()]


class ReviewInputSerializer(serializers.Serializer):
    scores = serializers.DictField(
        child=serializers.IntegerField(min_value=SCORE_MIN, max_value=SCORE_MAX, allow_null=True),
        required=False,
        help_text="Criterion id → score 0–5, or null for N/A.",
    )
    recommendation = RecommendationField(required=False)
    comments = serializers.CharField(max_length=10000, required=False, allow_blank=True)
    submit = serializers.BooleanField(
        default=False, help_text="Submit the review (no more changes) instead of saving a draft."
    )


class DeclineSerializer(serializers.Serializer):
    conflict_of_interest = serializers.CharField(max_length=2000)


class ReviewAssignmentViewSet(viewsets.ReadOnlyModelViewSet):
    """My review assignments (reviewers): the applications to review, my scores and my recommendation."""

    serializer_class = ReviewAssignmentSerializer
    permission_classes = [permissions.IsAuthenticated, IsReviewer]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReviewAssignment.objects.none()
        return (
            ReviewAssignment.objects.for_reviewer(self.request.user)
            .select_related("application__organisation", "application__call__programme")
            .prefetch_related("scores", "application__attachments", "application__call__programme__criteria")
            .order_by("-id")
        )

    @extend_schema(request=ReviewInputSerializer, responses=ReviewAssignmentSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Save my scores, recommendation and comments as a draft, or submit them with ``"submit": true``."""
        assignment = self.get_object()
        body = ReviewInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = body.validated_data
        kwargs = {
            "by": request.user,
            "scores": data.get("scores", {}),
            "recommendation": data.get("recommendation", assignment.recommendation),
            "comments": data.get("comments", assignment.comments),
            "submit": data["submit"],
        }
        services.save_review(assignment, **kwargs)
        return Response(ReviewAssignmentSerializer(self.get_queryset().get(pk=assignment.pk)).data)

    @extend_schema(request=DeclineSerializer, responses=ReviewAssignmentSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """Declare a conflict of interest and step back from the application."""
        assignment = self.get_object()
        body = DeclineSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.decline_assignment(
            assignment, by=request.user, conflict=body.validated_data["conflict_of_interest"]
        )
        return Response(ReviewAssignmentSerializer(self.get_queryset().get(pk=assignment.pk)).data)


# --- incubated projects --------------------------------------------------------------------------------


@extend_schema_field(
    {"type": "string", "enum": ProjectStatus.values}, component_name="IncubatedProjectStatusEnum"
)
class ProjectStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=ProjectStatus.choices, **kwargs)


class ProjectSerializer(serializers.ModelSerializer):
    status = ProjectStatusField(read_only=True)
    organisation_name = serializers.CharField(source="organisation.display_name", read_only=True)
    benefits = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "title",
            "organisation",
            "organisation_name",
            "programme",
            "application",
            "status",
            "status_reason",
            "started_at",
            "ended_at",
            "benefits",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"kind": {"type": "string"}, "amount": {"type": "string", "nullable": True}},
            },
        }
    )
    def get_benefits(self, obj):
        return [
            {"kind": b.kind, "amount": None if b.amount is None else str(b.amount)}
            for b in obj.benefits.all()
        ]


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    """Incubated projects of my organisations and those I mentor (all for operators and supervisors)."""

    serializer_class = ProjectSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return (
            Project.objects.for_user(self.request.user)
            .select_related("organisation")
            .prefetch_related("benefits")
            .order_by("-id")
        )
