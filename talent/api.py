"""REST API of the talent platform: thin views over ``talent.services``.

- catalogue (public, read): courses and cohorts with seats left;
- my enrolments: list, enrol, withdraw, accept an offer;
- instructors: a cohort's roster, attendance of a session, scores;
- certificate verification (public).
"""

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from core import pagecache
from core.exceptions import DomainError
from core.web import IdField
from talent import kept
from talent.models import (
    Access,
    Audience,
    Category,
    Certificate,
    CertificateStatus,
    Cohort,
    CohortStatus,
    Course,
    Enrolment,
    EnrolmentStatus,
    Level,
    Session,
)
from talent.pdf import verification_url
from talent.services.enrolment import accept_offer, enrol, waitlist_position, withdraw
from talent.services.running import mark_attendance, set_scores
from talent.views.catalogue import CATALOGUE
from talent.views.certificates import holder_label


class StrictIdField(IdField):
    """An id that is not written as a boolean or a float (``1.0`` is not the enrolment 1)."""

    def to_internal_value(self, data):
        if isinstance(data, bool | float):
            self.fail("invalid")
        return super().to_internal_value(data)


def changes_schema(name: str, request_serializer):
    """The schema of a teaching action that answers how many records it changed."""
    return extend_schema(
        request=request_serializer,
        responses=inline_serializer(name, fields={"changed": serializers.IntegerField()}),
    )


def validated(serializer_class, request) -> dict:
    data = serializer_class(data=request.data)
    data.is_valid(raise_exception=True)
    return data.validated_data


def _choice_field(choices, component: str):
    """A read-only choice field with its own schema component (field names such as "status" repeat across apps)."""

    @extend_schema_field({"type": "string", "enum": choices.values}, component_name=component)
    class Field(serializers.ChoiceField):
        def __init__(self, **kwargs):
            super().__init__(choices=choices.choices, read_only=True, **kwargs)

    Field.__name__ = component
    return Field


CohortStatusField = _choice_field(CohortStatus, "TalentCohortStatusEnum")
EnrolmentStatusField = _choice_field(EnrolmentStatus, "TalentEnrolmentStatusEnum")
CertificateStatusField = _choice_field(CertificateStatus, "TalentCertificateStatusEnum")
AudienceField = _choice_field(Audience, "TalentAudienceEnum")
AccessField = _choice_field(Access, "TalentAccessEnum")
LevelField = _choice_field(Level, "TalentLevelEnum")
CategoryField = _choice_field(Category, "TalentCategoryEnum")


class EnrolmentSerializer(serializers.ModelSerializer):
    course = serializers.CharField(source="cohort.course.slug", read_only=True)
    status = EnrolmentStatusField()
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    waitlist_position = serializers.SerializerMethodField()

    class Meta:
        model = Enrolment
        fields = [
            "id",
            "cohort",
            "course",
            "status",
            "status_label",
            "waitlist_position",
            "offer_expires_at",
            "enrolled_at",
            "score",
            "created_at",
        ]
        read_only_fields = fields

    def get_waitlist_position(self, obj) -> int | None:
        if obj.status != EnrolmentStatus.WAITLISTED:
            return None
        ahead = getattr(obj, "waitlist_ahead", None)
        return ahead + 1 if ahead is not None else waitlist_position(obj)


# --- catalogue ---------------------------------------------------------------------------------------------


class CohortSerializer(serializers.ModelSerializer):
    course = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    seats_left = serializers.IntegerField(read_only=True)
    status = CohortStatusField()
    audience = AudienceField()
    access = AccessField()
    audience_label = serializers.CharField(source="get_audience_display", read_only=True)
    access_label = serializers.CharField(source="get_access_display", read_only=True)

    class Meta:
        model = Cohort
        fields = [
            "id",
            "course",
            "name",
            "starts_on",
            "ends_on",
            "capacity",
            "seats_left",
            "enrolment_opens_at",
            "enrolment_closes_at",
            "audience",
            "audience_label",
            "access",
            "access_label",
            "min_attendance_percent",
            "min_score",
            "status",
        ]
        read_only_fields = fields


class CourseSerializer(serializers.ModelSerializer):
    title = serializers.CharField(read_only=True)
    programme = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    cohorts = CohortSerializer(source="upcoming_cohorts", many=True, read_only=True)
    level = LevelField()
    category = CategoryField()

    class Meta:
        model = Course
        fields = [
            "id",
            "slug",
            "title",
            "title_zh",
            "title_en",
            "description_zh",
            "description_en",
            "programme",
            "category",
            "level",
            "prerequisites",
            "syllabus",
            "cohorts",
        ]
        read_only_fields = fields


class CourseViewSet(pagecache.KeptPublicList, viewsets.ReadOnlyModelViewSet):
    """Published courses with their upcoming cohorts and seats left. Public: a page is kept while the catalogue
    is unchanged, as the catalogue page's body is."""

    serializer_class = CourseSerializer
    permission_classes = [permissions.AllowAny]
    lookup_field = "slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]{1,50}"

    def kept_state(self) -> str:
        return CATALOGUE.current()

    def get_queryset(self):
        cohorts = (
            Cohort.objects.published()
            .upcoming()
            .with_seats()
            .select_related("course")
            .order_by("starts_on", "id")
        )
        return (
            Course.objects.published()
            .select_related("programme")
            .prefetch_related(Prefetch("cohorts", queryset=cohorts, to_attr="upcoming_cohorts"))
            .order_by("-id")
        )


class EnrolInputSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class CohortViewSet(viewsets.ReadOnlyModelViewSet):
    """Published upcoming cohorts with seats left (public); ``enrol`` for the signed-in person."""

    serializer_class = CohortSerializer

    def get_permissions(self):
        if self.action == "enrol":
            return [permissions.IsAuthenticated()]
        return [permissions.AllowAny()]

    def get_queryset(self):
        return Cohort.objects.published().upcoming().with_seats().select_related("course").order_by("-id")

    @extend_schema(request=EnrolInputSerializer, responses={201: EnrolmentSerializer})
    @action(detail=True, methods=["post"])
    def enrol(self, request, pk=None):
        """Enrol, join the waitlist, or ask for approval, as the cohort allows. 409 if already in it."""
        cohort = self.get_object()
        code = validated(EnrolInputSerializer, request)["code"]
        enrolment = enrol(cohort, user=request.user, code=code)
        enrolment = (
            Enrolment.objects.with_waitlist_position().select_related("cohort__course").get(pk=enrolment.pk)
        )
        return Response(EnrolmentSerializer(enrolment).data, status=status.HTTP_201_CREATED)


# --- my enrolments -------------------------------------------------------------------------------------------------


class MyEnrolmentViewSet(
    pagecache.KeptPublicList, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """The signed-in person's own enrolments (nobody else's, whatever their role)."""

    serializer_class = EnrolmentSerializer
    permission_classes = [permissions.IsAuthenticated]

    def kept_state(self) -> str:
        """A page of the list is kept for the person alone, like "My learning" (talent/kept.py)."""
        return kept.LEARNER.audience_state(self.request.user, sees_all=False)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return Enrolment.objects.none()
        return (
            Enrolment.objects.filter(user=self.request.user)
            .with_waitlist_position()
            .select_related("cohort__course")
            .order_by("-id")
        )

    @extend_schema(request=None, responses=EnrolmentSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        enrolment = withdraw(self.get_object(), by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=enrolment.pk)).data)

    @extend_schema(request=None, responses=EnrolmentSerializer)
    @action(detail=True, methods=["post"], url_path="accept-offer")
    def accept_offer(self, request, pk=None):
        enrolment = accept_offer(self.get_object(), by=request.user)
        return Response(self.get_serializer(self.get_queryset().get(pk=enrolment.pk)).data)


# --- instructors -----------------------------------------------------------------------------------------------------


class RosterEntrySerializer(serializers.ModelSerializer):
    email = serializers.EmailField(source="user.email", read_only=True, allow_null=True)
    name = serializers.CharField(source="user.name", read_only=True)
    status = EnrolmentStatusField()

    class Meta:
        model = Enrolment
        fields = ["id", "email", "name", "status", "score", "enrolled_at"]
        read_only_fields = fields


class AttendanceMarkSerializer(serializers.Serializer):
    enrolment = StrictIdField()
    present = serializers.BooleanField()


class AttendanceInputSerializer(serializers.Serializer):
    marks = AttendanceMarkSerializer(many=True, max_length=2000, allow_empty=False)


class ScoreSerializer(serializers.Serializer):
    enrolment = StrictIdField()
    score = serializers.DecimalField(
        max_digits=5, decimal_places=2, min_value=0, max_value=100, allow_null=True
    )


class ScoresInputSerializer(serializers.Serializer):
    scores = ScoreSerializer(many=True, max_length=2000, allow_empty=False)


class TeachingCohortViewSet(viewsets.ReadOnlyModelViewSet):
    """Cohorts the person runs (instructors: theirs; operators: all; supervisors read all). Others see none."""

    serializer_class = CohortSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        user = self.request.user
        cohorts = Cohort.objects.readable_by_teacher(user)
        return cohorts.with_seats().select_related("course").order_by("-id")

    @extend_schema(responses=RosterEntrySerializer(many=True))
    @action(detail=True, methods=["get"])
    def roster(self, request, pk=None):
        cohort = self.get_object()
        enrolments = (
            Enrolment.objects.filter(cohort=cohort, status__in=EnrolmentStatus.active())
            .select_related("user")
            .order_by("id")
        )
        return Response(RosterEntrySerializer(enrolments, many=True).data)

    @changes_schema("ScoresResult", ScoresInputSerializer)
    @action(detail=True, methods=["post"])
    def scores(self, request, pk=None):
        cohort = self.get_object()
        rows = validated(ScoresInputSerializer, request)["scores"]
        scores = {row["enrolment"]: row["score"] for row in rows}
        return Response({"changed": set_scores(cohort, by=request.user, scores=scores)})


class TeachingSessionViewSet(viewsets.GenericViewSet):
    """Attendance of one session of a cohort the person runs."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = AttendanceInputSerializer

    def get_queryset(self):
        cohorts = Cohort.objects.readable_by_teacher(self.request.user)
        return Session.objects.filter(cohort__in=cohorts).select_related("cohort")

    @changes_schema("AttendanceResult", AttendanceInputSerializer)
    @action(detail=True, methods=["post"])
    def attendance(self, request, pk=None):
        session = self.get_object()
        rows = validated(AttendanceInputSerializer, request)["marks"]
        present = {row["enrolment"]: row["present"] for row in rows}
        return Response({"changed": mark_attendance(session, by=request.user, present=present)})


# --- certificates ----------------------------------------------------------------------------------------------------


class CertificateSerializer(serializers.ModelSerializer):
    holder = serializers.SerializerMethodField()
    course = serializers.CharField(source="course_title", read_only=True)
    status = CertificateStatusField()
    verification_url = serializers.SerializerMethodField()

    class Meta:
        model = Certificate
        fields = [
            "code",
            "holder",
            "course",
            "course_title_zh",
            "course_title_en",
            "cohort_name",
            "issued_on",
            "status",
            "revoked_at",
            "revoke_reason",
            "verification_url",
        ]
        read_only_fields = fields

    def get_holder(self, obj) -> str:
        return holder_label(obj)

    def get_verification_url(self, obj) -> str:
        return verification_url(obj)


class CertificateVerifyView(APIView):
    """Verify a certificate by its code. Public; shows the holder's name, the course, the date and the status."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses=CertificateSerializer)
    def get(self, request, code):
        if len(code) > 32:
            raise DomainError(_("This is not a certificate code."))
        certificate = get_object_or_404(
            Certificate.objects.select_related("enrolment__user"), code=code.upper()
        )
        return Response(CertificateSerializer(certificate).data)
