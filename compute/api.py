"""REST API of the public compute service: thin views over ``compute.services`` and ``compute.usage``."""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import EmailValidator
from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Organisation, User
from compute import services, usage
from compute.models import (
    Allocation,
    AllocationStatus,
    Partition,
    QuotaRequest,
    ReconcileRun,
    RequestKind,
    RequestStatus,
)
from core.roles import is_operator, is_supervisor
from projects.models import Project

# Ids larger than a bigint are not ids: refuse them as input instead of asking the database.
MAX_ID = 2**63 - 1
ID_RE = re.compile(r"^[0-9]{1,19}$")
SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")


def _as_id(value) -> int | None:
    """An id given as a JSON number or a string of digits; None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if isinstance(value, str) and ID_RE.match(value) and 0 < int(value) <= MAX_ID:
        return int(value)
    return None


class IdRelatedField(serializers.PrimaryKeyRelatedField):
    """A related object by id, refusing what is not an id (1.5 or "1.0" would otherwise pass as 1)."""

    def to_internal_value(self, data):
        pk = _as_id(data)
        if pk is None:
            self.fail("incorrect_type", data_type=type(data).__name__)
        return super().to_internal_value(pk)


# --- permissions ---------------------------------------------------------------------------------------


class SupervisorsReadOnly(permissions.BasePermission):
    """Supervisors oversee the service: they read everything and change nothing."""

    message = _("Supervisors have read-only access.")

    def has_permission(self, request, view):
        if request.method in permissions.SAFE_METHODS:
            return True
        return is_operator(request.user) or not is_supervisor(request.user)


class IsOperatorOrSupervisor(permissions.BasePermission):
    message = _("Only the center's operators and supervisors see reconciliation runs.")

    def has_permission(self, request, view):
        return is_operator(request.user) or is_supervisor(request.user)


class IsOperator(permissions.BasePermission):
    message = _("Only the center's operators run a reconciliation.")

    def has_permission(self, request, view):
        return is_operator(request.user)


# --- partitions ----------------------------------------------------------------------------------------


class PartitionSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    unit_label = serializers.CharField(source="get_unit_display", read_only=True)

    class Meta:
        model = Partition
        fields = [
            "id",
            "slug",
            "name",
            "name_en",
            "name_zh",
            "description",
            "unit",
            "unit_label",
            "price_per_unit",
            "capacity_per_month",
            "overcommit_ratio",
            "min_request",
            "max_request",
            "is_active",
        ]
        read_only_fields = fields


@extend_schema_view(
    retrieve=extend_schema(
        parameters=[
            OpenApiParameter(
                "id_or_slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The id or the short name."
            )
        ]
    )
)
class PartitionViewSet(viewsets.ReadOnlyModelViewSet):
    """Pools of the cluster that quota is granted on, with unit, price, capacity and request bounds. Public."""

    serializer_class = PartitionSerializer
    permission_classes = [permissions.AllowAny]
    queryset = Partition.objects.all()
    lookup_url_kwarg = "id_or_slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    def get_object(self):
        value = self.kwargs[self.lookup_url_kwarg]
        pk = _as_id(value)
        lookup = {"pk": pk} if pk is not None else {"slug": value}
        partition = get_object_or_404(self.get_queryset(), **lookup)
        self.check_object_permissions(self.request, partition)
        return partition


# --- quota requests ------------------------------------------------------------------------------------


@extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "The partition's id or short name."}
)
class PartitionField(serializers.RelatedField):
    default_error_messages = {
        "does_not_exist": _("No partition “{value}”."),
        "incorrect_type": _("Give the partition's id or short name."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("queryset", Partition.objects.all())
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        pk = _as_id(data)
        if pk is not None:
            lookup = {"pk": pk}
        elif isinstance(data, str) and SLUG_RE.match(data):
            lookup = {"slug": data}
        else:
            self.fail("incorrect_type")
        partition = self.get_queryset().filter(**lookup).first()
        if partition is None:
            self.fail("does_not_exist", value=data)
        return partition

    def to_representation(self, value):
        return value.pk


@extend_schema_field(
    {"oneOf": [{"type": "integer"}, {"type": "string", "format": "email"}], "description": "Id or email."}
)
class PersonField(serializers.Field):
    """A person named by id or email address; resolved against the organisation's members later."""

    default_error_messages = {"invalid": _("Give the person's id or email address.")}

    def to_internal_value(self, data):
        pk = _as_id(data)
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


# Named components: the automatic enum naming of drf-spectacular strips a trailing "Request" from
# component names, which makes "QuotaRequest" and "QuotaRequestRequest" look like two components.
@extend_schema_field({"type": "string", "enum": RequestKind.values}, component_name="QuotaRequestKindEnum")
class RequestKindField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=RequestKind.choices, **kwargs)


@extend_schema_field(
    {"type": "string", "enum": RequestStatus.values}, component_name="QuotaRequestStatusEnum"
)
class RequestStatusField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=RequestStatus.choices, **kwargs)


class QuotaRequestMemberSerializer(serializers.Serializer):
    user = PersonField()
    user_email = serializers.EmailField(source="user.email", read_only=True)
    cluster_username = serializers.CharField(max_length=32)


class QuotaRequestSerializer(serializers.ModelSerializer):
    organisation = IdRelatedField(queryset=Organisation.objects.none())
    organisation_name = serializers.CharField(source="organisation.display_name", read_only=True)
    partition = PartitionField()
    partition_slug = serializers.SlugField(source="partition.slug", read_only=True)
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
            "id",
            "organisation",
            "organisation_name",
            "partition",
            "partition_slug",
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
            "created_by",
            "created_at",
            "submitted_at",
            "decided_at",
            "decision_reason",
            "granted_amount",
            "created_allocation",
        ]
        read_only_fields = [
            "created_by",
            "created_at",
            "submitted_at",
            "decided_at",
            "decision_reason",
            "granted_amount",
        ]

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
    def _resolve_members(organisation, rows) -> list[services.MemberAccess]:
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
                members.append(services.MemberAccess(person, row["cluster_username"]))
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


class QuotaRequestFilterSerializer(serializers.Serializer):
    status = RequestStatusField(required=False)
    organisation = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


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


def _query_params(serializer_class, request) -> dict:
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


@extend_schema_view(
    list=extend_schema(parameters=[QuotaRequestFilterSerializer]),
    create=extend_schema(responses={201: QuotaRequestSerializer}),
    partial_update=extend_schema(request=QuotaRequestUpdateSerializer, responses=QuotaRequestSerializer),
)
class QuotaRequestViewSet(
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
    permission_classes = [permissions.IsAuthenticated, SupervisorsReadOnly]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return QuotaRequest.objects.none()
        queryset = (
            QuotaRequest.objects.for_user(self.request.user)
            .select_related("organisation", "partition", "created_allocation")
            .prefetch_related("members__user")
        )
        if self.action == "list":
            params = _query_params(QuotaRequestFilterSerializer, self.request)
            if "status" in params:
                queryset = queryset.filter(status=params["status"])
            if "organisation" in params:
                queryset = queryset.filter(organisation_id=params["organisation"])
        return queryset

    def get_serializer_class(self):
        if self.action == "partial_update":
            return QuotaRequestUpdateSerializer
        return QuotaRequestSerializer

    def _fresh(self, quota_request) -> QuotaRequest:
        return self.get_queryset().get(pk=quota_request.pk)

    def _respond(self, quota_request, status_code=status.HTTP_200_OK) -> Response:
        data = QuotaRequestSerializer(self._fresh(quota_request), context=self.get_serializer_context()).data
        return Response(data, status=status_code)

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        organisation = data.pop("organisation")
        quota_request = services.create_quota_request(organisation, by=self.request.user, **data)
        serializer.instance = self._fresh(quota_request)

    def perform_update(self, serializer):
        quota_request = services.update_quota_request(
            serializer.instance, by=self.request.user, **serializer.validated_data
        )
        serializer.instance = self._fresh(quota_request)

    @extend_schema(request=None, responses=QuotaRequestSerializer)
    @action(detail=True, methods=["post"])
    def submit(self, request, pk=None):
        return self._respond(services.submit_quota_request(self.get_object(), by=request.user))

    @extend_schema(request=None, responses=QuotaRequestSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        return self._respond(services.withdraw_quota_request(self.get_object(), by=request.user))

    @extend_schema(request=ApproveQuotaRequestSerializer, responses=QuotaRequestSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        quota_request = self.get_object()
        payload = ApproveQuotaRequestSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        # Field problems come back from the service as a ValidationError on granted_amount (400).
        quota_request = services.approve_quota_request(
            quota_request,
            by=request.user,
            granted_amount=payload.validated_data.get("granted_amount"),
        )
        return self._respond(quota_request)

    @extend_schema(request=QuotaDecisionReasonSerializer, responses=QuotaRequestSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        quota_request = self.get_object()
        payload = QuotaDecisionReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        quota_request = services.reject_quota_request(
            quota_request, by=request.user, reason=payload.validated_data["reason"]
        )
        return self._respond(quota_request)

    @extend_schema(request=QuotaDecisionReasonSerializer, responses=QuotaRequestSerializer)
    @action(detail=True, methods=["post"], url_path="request-changes")
    def request_changes(self, request, pk=None):
        quota_request = self.get_object()
        payload = QuotaDecisionReasonSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        quota_request = services.request_quota_changes(
            quota_request, by=request.user, reason=payload.validated_data["reason"]
        )
        return self._respond(quota_request)


# --- allocations ---------------------------------------------------------------------------------------


class AllocationSerializer(serializers.ModelSerializer):
    organisation_name = serializers.CharField(source="organisation.display_name", read_only=True)
    partition_slug = serializers.SlugField(source="partition.slug", read_only=True)
    unit = serializers.CharField(source="partition.unit", read_only=True)
    remaining = serializers.DecimalField(
        source="remaining_amount", max_digits=None, decimal_places=4, read_only=True
    )
    used_percent = serializers.DecimalField(max_digits=None, decimal_places=1, read_only=True)
    members = serializers.SerializerMethodField(help_text="Cluster usernames with access to the account.")

    class Meta:
        model = Allocation
        fields = [
            "id",
            "organisation",
            "organisation_name",
            "partition",
            "partition_slug",
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
        return sorted(m.cluster_username for m in obj.members.all())


class AllocationFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=AllocationStatus.choices, required=False)
    organisation = serializers.IntegerField(min_value=1, max_value=MAX_ID, required=False)


class AllocationUsageQuerySerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=services.MAX_PERIOD_DAYS, default=30)


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
class AllocationViewSet(viewsets.ReadOnlyModelViewSet):
    """Allocations of my organisations (all of them for operators and supervisors), with their usage.

    Operators suspend, resume, close and retry the cluster synchronisation; the organisation's owners and
    administrators may close their own. Filter with ``?status=`` and ``?organisation=<id>``.
    """

    serializer_class = AllocationSerializer
    permission_classes = [permissions.IsAuthenticated, SupervisorsReadOnly]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Allocation.objects.none()
        queryset = (
            Allocation.objects.for_user(self.request.user)
            .select_related("organisation", "partition")
            .prefetch_related("members")
        )
        if self.action == "list":
            params = _query_params(AllocationFilterSerializer, self.request)
            if "status" in params:
                queryset = queryset.filter(status=params["status"])
            if "organisation" in params:
                queryset = queryset.filter(organisation_id=params["organisation"])
        return queryset

    def _respond(self, allocation, status_code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=allocation.pk)
        return Response(self.get_serializer(fresh).data, status=status_code)

    @extend_schema(parameters=[AllocationUsageQuerySerializer], responses=AllocationUsageSerializer)
    @action(detail=True, methods=["get"])
    def usage(self, request, pk=None):
        allocation = self.get_object()
        days = _query_params(AllocationUsageQuerySerializer, request)["days"]
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

    @extend_schema(request=SuspendAllocationSerializer, responses=AllocationSerializer)
    @action(detail=True, methods=["post"])
    def suspend(self, request, pk=None):
        allocation = self.get_object()
        payload = SuspendAllocationSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        allocation = services.suspend_allocation(
            allocation, by=request.user, reason=payload.validated_data["reason"]
        )
        return self._respond(allocation)

    @extend_schema(request=None, responses=AllocationSerializer)
    @action(detail=True, methods=["post"])
    def resume(self, request, pk=None):
        return self._respond(services.resume_allocation(self.get_object(), by=request.user))

    @extend_schema(request=CloseAllocationSerializer, responses=AllocationSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        allocation = self.get_object()
        payload = CloseAllocationSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        allocation = services.close_allocation(
            allocation, by=request.user, reason=payload.validated_data["reason"]
        )
        return self._respond(allocation)

    @extend_schema(request=None, responses={202: AllocationSerializer})
    @action(detail=True, methods=["post"], url_path="retry-sync")
    def retry_sync(self, request, pk=None):
        allocation = self.get_object()
        services.retry_sync(allocation, by=request.user)
        return self._respond(allocation, status.HTTP_202_ACCEPTED)


# --- reconciliation ------------------------------------------------------------------------------------


class ReconcileFindingSerializer(serializers.Serializer):
    """One drift between the portal and the cluster. Stored as JSON, so a key may be missing."""

    kind = serializers.CharField(
        required=False,
        help_text="missing_account, account_not_removed, missing_user, unexpected_user, limit_changed, "
        "block_changed or unknown_account.",
    )
    account = serializers.CharField(required=False)
    allocation = serializers.IntegerField(allow_null=True, required=False)
    expected = serializers.JSONField(required=False)
    observed = serializers.JSONField(required=False)
    repaired = serializers.BooleanField(required=False)
    error = serializers.CharField(required=False, help_text="Why the repair failed, if it did.")


class ReconcileRunSerializer(serializers.ModelSerializer):
    findings = ReconcileFindingSerializer(many=True, read_only=True)
    drift_count = serializers.IntegerField(read_only=True)
    repaired_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = ReconcileRun
        fields = ["id", "started_at", "finished_at", "error", "drift_count", "repaired_count", "findings"]
        read_only_fields = fields


class ReconcileRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Comparisons of the portal with the cluster and what each repaired. Operators and supervisors read
    them; operators start one with ``POST run/``."""

    serializer_class = ReconcileRunSerializer

    def get_permissions(self):
        if self.action == "run":
            return [permissions.IsAuthenticated(), IsOperator()]
        return [permissions.IsAuthenticated(), IsOperatorOrSupervisor()]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReconcileRun.objects.none()
        return ReconcileRun.objects.all()

    @extend_schema(request=None, responses={201: ReconcileRunSerializer})
    @action(detail=False, methods=["post"])
    def run(self, request):
        return Response(
            self.get_serializer(usage.reconcile(by=request.user)).data, status=status.HTTP_201_CREATED
        )
