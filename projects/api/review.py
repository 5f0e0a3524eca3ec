"""The incubation API's reviews: a reviewer's assignments, their scores and recommendation, and declining."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from core.roles import SiteRole, has_site_role
from projects.api.calls import CriterionSerializer
from projects.api.common import AssignmentStatusField, AttachmentSerializer, RecommendationField, validated
from projects.models import SCORE_MAX, SCORE_MIN, Application, ReviewAssignment
from projects.services import review as services


class IsReviewer(permissions.BasePermission):
    message = "Only the center's expert reviewers have review assignments."

    def has_permission(self, request, view):
        return has_site_role(request.user, SiteRole.REVIEWER)


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

    def _respond(self, assignment: ReviewAssignment) -> Response:
        return Response(ReviewAssignmentSerializer(self.get_queryset().get(pk=assignment.pk)).data)

    @extend_schema(request=ReviewInputSerializer, responses=ReviewAssignmentSerializer)
    @action(detail=True, methods=["post"])
    def review(self, request, pk=None):
        """Save my scores, recommendation and comments as a draft, or submit them with ``"submit": true``."""
        assignment = self.get_object()
        data = validated(ReviewInputSerializer, request.data)
        services.save_review(
            assignment,
            by=request.user,
            scores=data.get("scores", {}),
            recommendation=data.get("recommendation", assignment.recommendation),
            comments=data.get("comments", assignment.comments),
            submit=data["submit"],
        )
        return self._respond(assignment)

    @extend_schema(request=DeclineSerializer, responses=ReviewAssignmentSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        """Declare a conflict of interest and step back from the application."""
        assignment = self.get_object()
        conflict = validated(DeclineSerializer, request.data)["conflict_of_interest"]
        services.decline_assignment(assignment, by=request.user, conflict=conflict)
        return self._respond(assignment)
