"""Reconciliation runs in the API: read by operators and supervisors, started by operators."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from compute import usage
from compute.api.base import IsOperator, IsOperatorOrSupervisor
from compute.models import ReconcileRun


class ReconcileFindingSerializer(serializers.Serializer):
    """One drift between the portal and the cluster. Stored as JSON, so a key may be missing."""

    kind = serializers.CharField(
        required=False,
        help_text="missing_account, account_not_removed, missing_user, unexpected_user, user_leaving, "
        "partition_changed, user_limit_changed, limit_changed, block_changed, unknown_account or usage_differs (expected: the portal's usage, observed: the "
        "scheduler's, in the partition's unit).",
    )
    cluster = serializers.CharField(required=False, help_text="The cluster the account is on.")
    account = serializers.CharField(required=False)
    allocation = serializers.IntegerField(allow_null=True, required=False)
    expected = serializers.JSONField(required=False)
    observed = serializers.JSONField(required=False)
    difference = serializers.CharField(required=False, help_text="usage_differs: scheduler minus portal.")
    unit = serializers.CharField(required=False, help_text="usage_differs: card_hour or core_hour.")
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
