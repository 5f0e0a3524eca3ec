"""Quota requests in the API: filed, edited, submitted and withdrawn by the organisation; decided by the
operators."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, permissions, serializers, viewsets

from accounts.models import Organisation, User
from compute import kept
from compute.api.base import (
    OnPartitionSerializer,
    OrganisationFilterSerializer,
    OrganisationObjectsMixin,
    object_action,
)
from compute.api.partitions import PartitionField
from compute.models import Allocation, QuotaRequest, RequestKind, RequestStatus
from compute.services import requests as request_services
from core import pagecache
from core.roles import sees_all_organisations
from core.web import IdRelatedField, parse_id
from projects.models import Project


@extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string", "format": "email"}], "description": "Id or email."}
)
class PersonField(serializers.Field):
    """A person named by id or email address; resolved against the organisation's members later."""

    default_error_messages = {"invalid": _("Give the person's id or email address.")}

    def to_internal_value(self, data):
        pk = parse_id(data)
        if pk is not None:
            return pk
        if isinstance(data, str) and len(data) <= 254:
            try:
                EmailValidator()(data.strip())
            except DjangoValidationError:
                self.fail("invalid")
            return data.strip().lower()
        self.fail("invalid")

    def to_representation(self, value):
        return value.pk


def _choice_field(choices, component_name: str):
    @extend_schema_field({"type": "string", "enum": choices.values}, component_name=component_name)
    class ChoiceField(serializers.ChoiceField):
        def __init__(self, **kwargs):
            super().__init__(choices=choices.choices, **kwargs)

    return ChoiceField


# Named components: the automatic enum naming of drf-spectacular strips a trailing "Request" from
# component names, which makes "QuotaRequest" and "QuotaRequestRequest" look like two components.
RequestKindField = _choice_field(RequestKind, "QuotaRequestKindEnum")
RequestStatusField = _choice_field(RequestStatus, "QuotaRequestStatusEnum")


class QuotaRequestMemberSerializer(serializers.Serializer):
    user = PersonField()
    user_email = serializers.EmailField(source="user.email", read_only=True, allow_null=True)
    # The person's cluster identity's user name (or the one they will get): never typed.
    cluster_username = serializers.CharField(read_only=True)


# What the portal records on a request as it goes (never written through the API).
RECORDED_FIELDS = [
    "created_by",
    "created_at",
    "submitted_at",
    "decided_at",
    "decision_reason",
    "granted_amount",
]


class QuotaRequestSerializer(OnPartitionSerializer):
    organisation = IdRelatedField(queryset=Organisation.objects.none())
    partition = PartitionField()
    kind = RequestKindField(required=False)
    status = RequestStatusField(read_only=True)
    allocation = IdRelatedField(
        queryset=Allocation.objects.none(),
        required=False,
        allow_null=True,
        help_text="For an increase, extension or early close: the allocation it changes.",
    )
    project = IdRelatedField(
        queryset=Project.objects.none(),
        required=False,
        allow_null=True,
        help_text="Optional: the id of the organisation's incubated project this compute serves.",
    )
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, required=False)
    members = QuotaRequestMemberSerializer(many=True, required=False, max_length=100)
    cost_estimate = serializers.DecimalField(max_digits=None, decimal_places=2, read_only=True)
    is_editable = serializers.BooleanField(read_only=True)
    created_allocation = serializers.SerializerMethodField()

    class Meta:
        model = QuotaRequest
        fields = [
            *OnPartitionSerializer.LEADING_FIELDS,
            "kind",
            "allocation",
            "project",
            "amount",
            "start_date",
            "end_date",
            "purpose",
            "justification",
            "members",
            "status",
            "is_editable",
            "cost_estimate",
            *RECORDED_FIELDS,
            "created_allocation",
        ]
        read_only_fields = RECORDED_FIELDS

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            # Requests are filed for one's own organisations; any other is "does not exist". Whether the
            # person may file for it (owner or administrator) is the service's answer (403).
            if "organisation" in self.fields and not self.fields["organisation"].read_only:
                self.fields["organisation"].queryset = Organisation.objects.filter(
                    memberships__user=request.user
                )
            if "allocation" in self.fields and not self.fields["allocation"].read_only:
                self.fields["allocation"].queryset = Allocation.objects.for_user(request.user)
            if "project" in self.fields and not self.fields["project"].read_only:
                # Projects one may see; whether it suits the request is the service's answer (400).
                self.fields["project"].queryset = Project.objects.for_user(request.user)

    def get_created_allocation(self, obj) -> int | None:
        allocation = getattr(obj, "created_allocation", None) if obj.pk else None
        return allocation.pk if allocation else None

    def validate(self, attrs):
        if "members" in attrs:
            organisation = attrs.get("organisation") or self.instance.organisation
            attrs["members"] = self._resolve_members(organisation, attrs["members"])
        return attrs

    @staticmethod
    def _resolve_members(organisation, rows) -> list[request_services.MemberAccess]:
        """Turn ids and email addresses into people of the organisation (nobody else is found)."""
        refs = [row["user"] for row in rows]
        ids = [r for r in refs if isinstance(r, int)]
        emails = [r for r in refs if isinstance(r, str)]
        lookup = Q(pk__in=ids)
        for email in emails:
            lookup |= Q(email__iexact=email)
        people = list(User.objects.filter(lookup, memberships__organisation=organisation)) if refs else []
        by_id = {p.pk: p for p in people}
        by_email = {p.email.lower(): p for p in people}
        errors, members = [], []
        for row in rows:
            ref = row["user"]
            person = by_id.get(ref) if isinstance(ref, int) else by_email.get(ref)
            if person is None:
                errors.append(_("“%(person)s” is not a member of the organisation.") % {"person": ref})
            else:
                members.append(request_services.MemberAccess(person))
        if len({m.user.pk for m in members}) != len(members):
            # The database allows one cluster username per person and request.
            errors.append(_("Name each person once."))
        if errors:
            raise serializers.ValidationError({"members": errors})
        return members


class QuotaRequestUpdateSerializer(QuotaRequestSerializer):
    """Editable fields of a draft or of a request sent back for changes."""

    organisation = serializers.PrimaryKeyRelatedField(read_only=True)
    kind = RequestKindField(read_only=True)
    allocation = serializers.PrimaryKeyRelatedField(read_only=True)


class QuotaRequestFilterSerializer(OrganisationFilterSerializer):
    status = RequestStatusField(required=False)


class ApproveQuotaRequestSerializer(serializers.Serializer):
    granted_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        required=False,
        allow_null=True,
        help_text="Less than was asked, if so decided; the requested amount when left out.",
    )


class QuotaDecisionReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000)


@extend_schema_view(
    list=extend_schema(parameters=[QuotaRequestFilterSerializer]),
    create=extend_schema(responses={201: QuotaRequestSerializer}),
    partial_update=extend_schema(request=QuotaRequestUpdateSerializer, responses=QuotaRequestSerializer),
)
class QuotaRequestViewSet(
    pagecache.KeptPublicList,
    OrganisationObjectsMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Quota requests of my organisations (all of them for operators and supervisors).

    Owners and administrators file drafts, edit them while they are drafts or sent back for changes,
    submit and withdraw them; operators approve, reject or ask for changes. Filter with ``?status=``
    and ``?organisation=<id>``.
    """

    serializer_class = QuotaRequestSerializer
    filter_class = QuotaRequestFilterSerializer
    permission_classes = [permissions.IsAuthenticated]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def kept_state(self) -> str:
        """A page of the list is kept like the request list page (compute/kept.py)."""
        user = self.request.user
        return kept.REQUESTS.audience_state(user, sees_all=sees_all_organisations(user))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return QuotaRequest.objects.none()
        queryset = (
            QuotaRequest.objects.for_user(self.request.user)
            .select_related("organisation", "partition", "created_allocation")
            .prefetch_related("members__user")
        )
        return self.filter_list(queryset)

    def get_serializer_class(self):
        if self.action == "partial_update":
            return QuotaRequestUpdateSerializer
        return QuotaRequestSerializer

    def _fresh(self, quota_request) -> QuotaRequest:
        return self.get_queryset().get(pk=quota_request.pk)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organisation = data.pop("organisation")
        quota_request = request_services.create_quota_request(organisation, by=self.request.user, **data)
        serializer.instance = self._fresh(quota_request)

    def perform_update(self, serializer):
        quota_request = request_services.update_quota_request(
            serializer.instance, by=self.request.user, **serializer.validated_data
        )
        serializer.instance = self._fresh(quota_request)

    submit = object_action("submit", request_services.submit_quota_request, answer=QuotaRequestSerializer)
    withdraw = object_action(
        "withdraw", request_services.withdraw_quota_request, answer=QuotaRequestSerializer
    )
    # Field problems come back from the service as a ValidationError on granted_amount (400).
    approve = object_action(
        "approve",
        request_services.approve_quota_request,
        ApproveQuotaRequestSerializer,
        answer=QuotaRequestSerializer,
    )
    reject = object_action(
        "reject",
        request_services.reject_quota_request,
        QuotaDecisionReasonSerializer,
        answer=QuotaRequestSerializer,
    )
    request_changes = object_action(
        "request_changes",
        request_services.request_quota_changes,
        QuotaDecisionReasonSerializer,
        answer=QuotaRequestSerializer,
        url_path="request-changes",
    )
