"""Cluster access in the API: the caller's identity (``cluster-access/``), their SSH keys (``ssh-keys/``:
list, add, read, remove; operators see everyone's and revoke with a reason) and, for an organisation's managers,
the cluster identities of its members (``cluster-identities/``, read-only). The same services as the pages."""

from django.conf import settings
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Membership, Organisation
from compute import kept
from compute.api.base import IsOperator
from compute.identities import keys
from compute.identities.models import ClusterIdentity, SshKey
from compute.models import AllocationMember
from core import pagecache
from core.roles import sees_all_organisations
from core.web import IdField


class IdentitySerializer(serializers.ModelSerializer):
    gid = serializers.IntegerField(read_only=True)
    is_published = serializers.BooleanField(
        read_only=True, help_text="The directory has the identity's last change (published_at >= changed_at)."
    )

    class Meta:
        model = ClusterIdentity
        fields = [
            "id",
            "username",
            "uid",
            "gid",
            "home",
            "shell",
            "status",
            "lock_reason",
            "lock_due_at",
            "locked_at",
            "created_at",
            "changed_at",
            "published_at",
            "is_published",
        ]
        read_only_fields = fields


class AccessAllocationSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="allocation.id")
    account = serializers.CharField(source="allocation.account_name", allow_null=True)
    organisation = serializers.IntegerField(source="allocation.organisation_id")
    partition = serializers.SlugField(source="allocation.partition.slug")
    slurm_partition = serializers.CharField(source="allocation.partition.slurm_partition")
    status = serializers.CharField(source="allocation.status")


class LoginSerializer(serializers.Serializer):
    host = serializers.CharField()
    port = serializers.IntegerField()
    ssh = serializers.CharField(help_text="A command line to log in with, empty until the identity exists.")


class ClusterAccessSerializer(serializers.Serializer):
    identity = IdentitySerializer(
        allow_null=True, help_text="Null until the person chooses a user name or first gets an allocation."
    )
    allocations = AccessAllocationSerializer(many=True, help_text="The allocations the person may use now.")
    login = LoginSerializer()


class ClusterAccessView(generics.GenericAPIView):
    """The caller's cluster identity, the allocations they may submit jobs under now, and how to log in."""

    serializer_class = ClusterAccessSerializer
    pagination_class = None

    def get_queryset(self):
        return ClusterIdentity.objects.none()

    @extend_schema(responses=ClusterAccessSerializer)
    def get(self, request):
        identity = ClusterIdentity.objects.filter(user=request.user).first()
        members = (
            AllocationMember.objects.current()
            .filter(user=request.user)
            .select_related("allocation__partition")
            .order_by("allocation__account_name")
        )
        port = settings.CLUSTER_LOGIN_PORT
        ssh = ""
        if identity is not None:
            ssh = (
                f"ssh{'' if port == 22 else f' -p {port}'} {identity.username}@{settings.CLUSTER_LOGIN_HOST}"
            )
        data = {
            "identity": identity,
            "allocations": list(members),
            "login": {"host": settings.CLUSTER_LOGIN_HOST, "port": port, "ssh": ssh},
        }
        return Response(ClusterAccessSerializer(data).data)


class SshKeySerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="identity.username", read_only=True)
    is_current = serializers.SerializerMethodField(help_text="Published: not removed, not expired.")

    class Meta:
        model = SshKey
        fields = [
            "id",
            "username",
            "name",
            "key_type",
            "bits",
            "public_key",
            "comment",
            "fingerprint",
            "created_at",
            "expires_at",
            "removed_at",
            "revoke_reason",
            "published_at",
            "is_current",
        ]
        read_only_fields = fields

    def get_is_current(self, key) -> bool:
        return key.removed_at is None and (key.expires_at is None or key.expires_at > timezone.now())


class AddSshKeySerializer(serializers.Serializer):
    public_key = serializers.CharField(
        max_length=keys.MAX_TEXT,
        trim_whitespace=True,
        help_text="One OpenSSH public key line (the .pub file): ssh-ed25519, ecdsa-sha2-nistp256/384/521 or "
        "ssh-rsa of at least 3072 bits. Never a private key.",
    )
    name = serializers.CharField(
        max_length=keys.MAX_NAME,
        required=False,
        allow_blank=True,
        default="",
        help_text="Where the key lives; the key's comment when left out.",
    )
    expires_at = serializers.DateTimeField(
        required=False, allow_null=True, default=None, help_text="When the key stops working; null: never."
    )


class RevokeSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, help_text="Why; the owner reads it in their mail.")


class SshKeyFilterSerializer(serializers.Serializer):
    current = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only current keys; false: only past ones.",
    )


@extend_schema(
    parameters=[OpenApiParameter("current", bool, description="Only current (true) or past keys.")]
)
class SshKeyViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """The caller's SSH keys (operators and supervisors see everyone's). ``POST`` adds a key and publishes it
    within seconds; ``DELETE`` removes one of the caller's keys; operators revoke any key with ``POST
    <id>/revoke/`` and a reason. The owner gets a mail for every change."""

    serializer_class = SshKeySerializer

    def get_permissions(self):
        if self.action == "revoke":
            return [permissions.IsAuthenticated(), IsOperator()]
        return super().get_permissions()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return SshKey.objects.none()
        queryset = SshKey.objects.select_related("identity")
        if not sees_all_organisations(self.request.user):
            queryset = queryset.filter(identity__user=self.request.user)
        if self.action == "list":
            params = SshKeyFilterSerializer(data=self.request.query_params)
            params.is_valid(raise_exception=True)
            current = params.validated_data.get("current")
            now = timezone.now()
            live = Q(removed_at__isnull=True) & (Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            if current is True:
                queryset = queryset.filter(live)
            elif current is False:
                queryset = queryset.exclude(live)
        return queryset

    @extend_schema(request=AddSshKeySerializer, responses={201: SshKeySerializer})
    def create(self, request, *args, **kwargs):
        payload = AddSshKeySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        key = keys.add_key(request.user, data["public_key"], name=data["name"], expires_at=data["expires_at"])
        return Response(SshKeySerializer(key).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        key = self.get_object()
        keys.remove_key(key, by=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=RevokeSerializer, responses=SshKeySerializer)
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        key = self.get_object()
        payload = RevokeSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        key = keys.revoke_key(key, by=request.user, reason=payload.validated_data["reason"])
        return Response(SshKeySerializer(SshKey.objects.select_related("identity").get(pk=key.pk)).data)


class MemberIdentitySerializer(IdentitySerializer):
    user = serializers.IntegerField(source="user_id", read_only=True, allow_null=True)
    user_email = serializers.EmailField(source="user.email", read_only=True, allow_null=True)
    key_count = serializers.IntegerField(read_only=True, help_text="Current keys (not removed, not expired).")

    class Meta(IdentitySerializer.Meta):
        fields = ["user", "user_email", *IdentitySerializer.Meta.fields, "key_count"]
        read_only_fields = fields


class IdentityFilterSerializer(serializers.Serializer):
    organisation = IdField(required=False, help_text="Only the members of this organisation.")


@extend_schema(
    parameters=[OpenApiParameter("organisation", int, description="Only the members of this organisation.")]
)
class OrganisationIdentityViewSet(pagecache.KeptPublicList, viewsets.ReadOnlyModelViewSet):
    """The cluster identities of the members of the organisations the caller manages (operators and
    supervisors: everyone's), read-only. People choose their user names and keys themselves."""

    serializer_class = MemberIdentitySerializer

    def kept_state(self) -> str:
        """A page of the list is kept like the identity list page: staff alike, a manager alone (compute/kept.py)."""
        user = self.request.user
        return kept.IDENTITIES.audience_state(user, sees_all=sees_all_organisations(user))

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ClusterIdentity.objects.none()
        user = self.request.user
        now = timezone.now()
        queryset = ClusterIdentity.objects.select_related("user").annotate(
            key_count=Count(
                "keys",
                filter=Q(keys__removed_at__isnull=True)
                & (Q(keys__expires_at__isnull=True) | Q(keys__expires_at__gt=now)),
            )
        )
        params = IdentityFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        organisation = params.validated_data.get("organisation")
        if sees_all_organisations(user):
            if organisation is not None:
                queryset = queryset.filter(
                    Exists(Membership.objects.filter(user=OuterRef("user"), organisation_id=organisation))
                )
            return queryset
        managed = Organisation.objects.managed_by(user)
        if organisation is not None:
            if not managed.filter(pk=organisation).exists():
                raise serializers.ValidationError(
                    {"organisation": [_("You do not manage an organisation with this id.")]}
                )
            managed = managed.filter(pk=organisation)
        return queryset.filter(
            Exists(Membership.objects.filter(user=OuterRef("user"), organisation__in=managed))
        )
