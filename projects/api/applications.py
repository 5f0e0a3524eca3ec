"""The incubation API's applications: applicants draft, edit, submit and withdraw; operators screen, ask for
more information, assign reviewers, close the review and decide."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Organisation, User
from core import pagecache
from core.roles import sees_all_organisations
from core.web import IdField
from projects import kept
from projects.api.common import (
    ApplicationStatusField,
    AssignmentStatusField,
    AttachmentSerializer,
    RecommendationField,
    validated,
)
from projects.models import DECISIONS, Application, Call, ReviewAssignment
from projects.services import applications, review, screening


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
    reviewer = IdField()


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
    call = IdField(required=False)


@extend_schema_view(
    list=extend_schema(parameters=[ApplicationFilterSerializer], responses=ApplicationSerializer(many=True)),
    retrieve=extend_schema(responses=ApplicationSerializer),
    create=extend_schema(request=ApplicationSerializer, responses={201: ApplicationSerializer}),
    partial_update=extend_schema(request=ApplicationUpdateSerializer, responses=ApplicationSerializer),
)
class ApplicationViewSet(
    pagecache.KeptPublicList,
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

    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def kept_state(self) -> str:
        """A page of the list is kept like the operators' list page: staff alike, anyone else alone."""
        user = self.request.user
        return kept.APPLICATIONS.audience_state(user, sees_all=sees_all_organisations(user))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Application.objects.none()
        queryset = (
            Application.objects.for_user(self.request.user)
            .select_related("call", "organisation")
            .prefetch_related("attachments")
            .order_by("-id")
        )
        if sees_all_organisations(self.request.user):
            queryset = queryset.prefetch_related("assignments__reviewer")
        if self.action == "list":
            params = validated(ApplicationFilterSerializer, self.request.query_params)
            if "status" in params:
                queryset = queryset.filter(status=params["status"])
            if "call" in params:
                queryset = queryset.filter(call_id=params["call"])
        return queryset

    def get_serializer_class(self):
        if self.action == "partial_update":
            return ApplicationUpdateSerializer
        if sees_all_organisations(self.request.user) and self.action in ("list", "retrieve"):
            return StaffApplicationSerializer
        return ApplicationSerializer

    def _respond(self, application, code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=application.pk)
        cls = (
            StaffApplicationSerializer if sees_all_organisations(self.request.user) else ApplicationSerializer
        )
        return Response(cls(fresh, context=self.get_serializer_context()).data, status=code)

    def create(self, request, *args, **kwargs):
        serializer = ApplicationSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        call, organisation = data.pop("call"), data.pop("organisation")
        application = applications.create_application(
            call, by=request.user, organisation=organisation, **data
        )
        return self._respond(application, status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        application = self.get_object()
        serializer = ApplicationUpdateSerializer(
            application, data=request.data, partial=True, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        application = applications.update_application(
            application, by=request.user, **serializer.validated_data
        )
        return self._respond(application)

    def update(self, request, *args, **kwargs):
        return self.partial_update(request, *args, **kwargs)

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        """Submit a draft, or resubmit after the center asked for more information (a revision is kept)."""
        return self._respond(applications.submit_application(self.get_object(), by=request.user))

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._respond(applications.withdraw_application(self.get_object(), by=request.user))

    def _step(self, step: str) -> Response:
        return self._respond(screening.operator_step(self.get_object(), step, by=self.request.user))

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="start-screening")
    def start_screening(self, request, pk=None):
        """Operators: start screening a submitted application."""
        return self._step("start_screening")

    @extend_schema(request=MessageSerializer, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="request-information")
    def request_information(self, request, pk=None):
        """Operators: send the application back to the applicants for more information."""
        message = validated(MessageSerializer, request.data)["message"]
        return self._respond(
            screening.request_information(self.get_object(), by=request.user, message=message)
        )

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="start-review")
    def start_review(self, request, pk=None):
        return self._step("start_review")

    @extend_schema(request=None, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"], url_path="close-review")
    def close_review(self, request, pk=None):
        return self._step("close_review")

    @extend_schema(request=AssignSerializer, responses={201: StaffAssignmentSerializer})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        """Operators: assign a reviewer (refused with 409 for a reviewer of the applying organisation)."""
        application = self.get_object()
        reviewer = get_object_or_404(
            User, pk=validated(AssignSerializer, request.data)["reviewer"], is_active=True
        )
        assignment = review.assign_reviewer(application, reviewer, by=request.user)
        return Response(StaffAssignmentSerializer(assignment).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=DecisionSerializer, responses=ApplicationSerializer)
    @action(detail=True, methods=["post"])
    def decide(self, request, pk=None):
        """Operators: accept, waitlist or reject with a message to the applicants (emailed)."""
        body = validated(DecisionSerializer, request.data)
        return self._respond(
            screening.decide_application(
                self.get_object(), by=request.user, decision=body["decision"], message=body.get("message", "")
            )
        )
