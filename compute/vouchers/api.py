"""REST API of the compute vouchers: schemes (read), an organisation's vouchers with their ledger (read),
voucher applications (apply, withdraw; operators approve or reject) and monthly settlements (read).

The same services as the pages (compute/vouchers/services/); objects of other organisations are not found."""

from decimal import Decimal

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Organisation
from compute.api.base import IsOperator
from compute.vouchers.models import (
    SCHEME_TERMS,
    LedgerEntry,
    Settlement,
    Voucher,
    VoucherApplication,
    VoucherScheme,
)
from compute.vouchers.services import applications
from core.web import IdRelatedField


class VoucherSchemeSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = VoucherScheme
        fields = ["id", "name", *(name for name in SCHEME_TERMS if name != "total_budget")]
        read_only_fields = fields


class VoucherSchemeViewSet(viewsets.ReadOnlyModelViewSet):
    """Voucher schemes: who subsidises what share of compute, for whom and until when. Public."""

    serializer_class = VoucherSchemeSerializer
    permission_classes = [permissions.AllowAny]
    queryset = VoucherScheme.objects.prefetch_related("eligible_partitions").order_by("-valid_until", "pk")


class LedgerEntrySerializer(serializers.ModelSerializer):
    settlement_month = serializers.DateField(source="settlement.month", read_only=True, allow_null=True)

    class Meta:
        model = LedgerEntry
        fields = ["id", "kind", "amount", "created_at", "settlement", "settlement_month", "note"]
        read_only_fields = fields


class VoucherSerializer(serializers.ModelSerializer):
    balance = serializers.DecimalField(
        source="balance_amount", max_digits=14, decimal_places=2, read_only=True
    )
    scheme_name = serializers.CharField(source="scheme.display_name", read_only=True)

    class Meta:
        model = Voucher
        fields = [
            "id",
            "code",
            "organisation",
            "scheme",
            "scheme_name",
            "amount",
            "balance",
            "granted_on",
            "expires_on",
            "source",
            "project",
        ]
        read_only_fields = fields


class VoucherDetailSerializer(VoucherSerializer):
    entries = LedgerEntrySerializer(many=True, read_only=True)

    class Meta(VoucherSerializer.Meta):
        fields = [*VoucherSerializer.Meta.fields, "entries"]
        read_only_fields = fields


class VoucherViewSet(viewsets.ReadOnlyModelViewSet):
    """Your organisations' vouchers, each with its balance (the sum of its ledger) and, one by one, the
    ledger itself. Operators and supervisors see every voucher."""

    def get_serializer_class(self):
        return VoucherDetailSerializer if self.action == "retrieve" else VoucherSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Voucher.objects.none()
        queryset = Voucher.objects.for_user(self.request.user).with_balance().select_related("scheme")
        if self.action == "retrieve":
            queryset = queryset.prefetch_related("entries__settlement")
        return queryset.order_by("-id")


class VoucherApplicationSerializer(serializers.ModelSerializer):
    organisation = IdRelatedField(queryset=Organisation.objects.none())
    scheme = IdRelatedField(queryset=VoucherScheme.objects.all())
    amount = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"))

    class Meta:
        model = VoucherApplication
        fields = [
            "id",
            "organisation",
            "scheme",
            "amount",
            "statement",
            "status",
            "created_at",
            "decided_at",
            "decision_reason",
            "voucher",
        ]
        read_only_fields = ["status", "created_at", "decided_at", "decision_reason", "voucher"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["organisation"].queryset = Organisation.objects.filter(memberships__user=request.user)


class VoucherDecisionSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, min_value=Decimal("0.01")
    )
    reason = serializers.CharField(max_length=2000, required=False, allow_blank=True)


class VoucherApplicationViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Applications for vouchers by your organisations (owners and administrators apply and withdraw);
    operators approve (optionally a smaller amount) or reject with a reason."""

    serializer_class = VoucherApplicationSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_permissions(self):
        if self.action in ("approve", "reject"):
            return [permissions.IsAuthenticated(), IsOperator()]
        return super().get_permissions()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return VoucherApplication.objects.none()
        return VoucherApplication.objects.for_user(self.request.user).select_related("scheme").order_by("-id")

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = applications.apply_for_voucher(
            data["scheme"],
            data["organisation"],
            by=self.request.user,
            amount=data["amount"],
            statement=data["statement"],
        )

    @extend_schema(request=None, responses=VoucherApplicationSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        application = applications.withdraw_voucher_application(self.get_object(), by=request.user)
        return Response(self.get_serializer(application).data)

    @extend_schema(request=VoucherDecisionSerializer, responses=VoucherApplicationSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._decide(applications.approve_voucher_application, "amount", "reason")

    @extend_schema(request=VoucherDecisionSerializer, responses=VoucherApplicationSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        return self._decide(applications.reject_voucher_application, "reason")

    def _decide(self, service, *names):
        """``service(application, by=the operator, **the decision's fields named)``, then the application."""
        decision = VoucherDecisionSerializer(data=self.request.data)
        decision.is_valid(raise_exception=True)
        given = {"reason": "", **decision.validated_data}
        application = service(
            self.get_object(), by=self.request.user, **{name: given.get(name) for name in names}
        )
        return Response(self.get_serializer(application).data)


class SettlementSerializer(serializers.ModelSerializer):
    account = serializers.CharField(source="allocation.account_name", read_only=True)

    class Meta:
        model = Settlement
        fields = [
            "id",
            "month",
            "organisation",
            "allocation",
            "account",
            "units",
            "jobs",
            "price_per_unit",
            "cost",
            "subsidy",
            "payable",
            "settled_at",
        ]
        read_only_fields = fields


class SettlementViewSet(viewsets.ReadOnlyModelViewSet):
    """Settled months of your organisations' allocations: usage, price, cost, the part vouchers paid and the
    part the organisation pays. The statement of a month is the settlements of that month."""

    serializer_class = SettlementSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Settlement.objects.none()
        return Settlement.objects.for_user(self.request.user).select_related("allocation").order_by("-id")
