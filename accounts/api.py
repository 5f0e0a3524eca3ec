"""REST API of people and organisations: thin views over ``accounts.services``."""

from django.db.models import OuterRef, Q, Subquery
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts import kept, services
from accounts.models import Invitation, Membership, MembershipRole, Organisation, User
from accounts.uscc import normalize_uscc
from core import pagecache
from core.roles import site_roles


class MeSerializer(serializers.ModelSerializer):
    site_roles = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "email", "name", "date_joined", "site_roles"]
        read_only_fields = ["id", "email", "date_joined", "site_roles"]
        # The length is checked on the name as sent, as the schema's maxLength says; the spaces around it
        # are dropped afterwards (validate_name).
        extra_kwargs = {"name": {"trim_whitespace": False}}

    def get_site_roles(self, user) -> list[str]:
        return sorted(site_roles(user))

    def validate_name(self, value: str) -> str:
        return value.strip()


class MeView(generics.RetrieveUpdateAPIView):
    """The signed-in person."""

    serializer_class = MeSerializer
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return self.request.user


class OrganisationSerializer(serializers.ModelSerializer):
    my_role = serializers.CharField(
        read_only=True, allow_null=True, help_text="Your membership role, if any."
    )

    class Meta:
        model = Organisation
        fields = [
            "id",
            *Organisation.PROFILE_FIELDS,
            "verification_status",
            "verification_reason",
            "verification_decided_at",
            "my_role",
            "created_at",
            "updated_at",
        ]
        read_only_fields = [
            "verification_status",
            "verification_reason",
            "verification_decided_at",
            "created_at",
            "updated_at",
        ]
        # The conditional unique constraint is checked by the service, which answers 409 with a clear message.
        validators = []

    def validate_uscc(self, value):
        return normalize_uscc(value)

    def validate(self, attrs):
        kind = attrs.get("kind", getattr(self.instance, "kind", None))
        uscc = attrs.get("uscc", getattr(self.instance, "uscc", ""))
        if kind == "enterprise" and not uscc:
            raise serializers.ValidationError(
                {"uscc": ["Enterprises must give their Unified Social Credit Code."]}
            )
        if kind != "enterprise" and attrs.get("size", getattr(self.instance, "size", "")):
            raise serializers.ValidationError({"size": ["Only enterprises have a size: leave it empty."]})
        return attrs


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=2000, allow_blank=False)


class OrganisationViewSet(
    pagecache.KeptPublicList,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Organisations visible to me: those I belong to (all of them for operators and supervisors)."""

    serializer_class = OrganisationSerializer

    def kept_state(self) -> str:
        """A page of the list is kept per person (each row says the reader's own role), like the organisation
        list page, while no organisation and none of the person's memberships change."""
        return kept.ORGANISATIONS.audience_state(self.request.user, sees_all=False)

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Organisation.objects.none()
        user = self.request.user
        my_role = Membership.objects.filter(organisation=OuterRef("pk"), user=user).values("role")[:1]
        return Organisation.objects.for_user(user).annotate(my_role=Subquery(my_role))

    def perform_create(self, serializer):
        serializer.instance = services.create_organisation(by=self.request.user, **serializer.validated_data)
        serializer.instance.my_role = MembershipRole.OWNER

    def perform_update(self, serializer):
        organisation = services.update_organisation(
            serializer.instance, by=self.request.user, **serializer.validated_data
        )
        organisation.my_role = serializer.instance.my_role
        serializer.instance = organisation

    @extend_schema(request=None, responses=OrganisationSerializer)
    @action(detail=True, methods=["post"], url_path="submit-verification")
    def submit_verification(self, request, pk=None):
        organisation = services.submit_organisation_for_verification(self.get_object(), by=request.user)
        return Response(self.get_serializer(self._with_role(organisation)).data)

    @extend_schema(request=None, responses=OrganisationSerializer)
    @action(detail=True, methods=["post"])
    def verify(self, request, pk=None):
        organisation = services.verify_organisation(self.get_object(), by=request.user)
        return Response(self.get_serializer(self._with_role(organisation)).data)

    @extend_schema(request=RejectSerializer, responses=OrganisationSerializer)
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        payload = RejectSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        organisation = services.reject_organisation(
            self.get_object(), by=request.user, reason=payload.validated_data["reason"]
        )
        return Response(self.get_serializer(self._with_role(organisation)).data)

    def _with_role(self, organisation):
        organisation.my_role = (
            Membership.objects.filter(organisation=organisation, user=self.request.user)
            .values_list("role", flat=True)
            .first()
        )
        return organisation


class MembershipSerializer(serializers.ModelSerializer):
    user_email = serializers.EmailField(source="user.email", read_only=True, allow_null=True)
    user_name = serializers.CharField(source="user.name", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "organisation", "user", "user_email", "user_name", "role", "created_at"]
        read_only_fields = ["id", "organisation", "user", "created_at"]


class MembershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Members of organisations visible to me. Filter with ``?organisation=<id>``.

    Owners and administrators change roles (PATCH) and remove members (DELETE); anyone may remove their
    own membership (leave). An organisation always keeps at least one owner (409 otherwise).
    """

    serializer_class = MembershipSerializer
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def get_queryset(self):
        queryset = Membership.objects.for_user(self.request.user).select_related("user").order_by("-id")
        organisation = self.request.query_params.get("organisation", "")
        if organisation.isdigit():
            queryset = queryset.filter(organisation_id=int(organisation))
        return queryset

    def perform_update(self, serializer):
        serializer.instance = services.change_member_role(
            serializer.instance,
            by=self.request.user,
            role=serializer.validated_data.get("role", serializer.instance.role),
        )

    def perform_destroy(self, instance):
        services.remove_member(instance, by=self.request.user)


class InvitationSerializer(serializers.ModelSerializer):
    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.none())
    organisation_name = serializers.CharField(source="organisation.display_name", read_only=True)
    is_expired = serializers.BooleanField(read_only=True)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "organisation",
            "organisation_name",
            "email",
            "role",
            "status",
            "created_at",
            "expires_at",
            "is_expired",
        ]
        read_only_fields = ["id", "status", "created_at", "expires_at"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            # One can only invite people into organisations one manages; others are "does not exist".
            self.fields["organisation"].queryset = Organisation.objects.managed_by(request.user)


class InvitationViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    """Invitations I sent for organisations I manage, and invitations addressed to me.

    Create one to invite a person by email (they get a mail with a link); DELETE revokes it;
    the invited person accepts or declines.
    """

    serializer_class = InvitationSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invitation.objects.none()
        user = self.request.user
        return (
            Invitation.objects.filter(
                Q(organisation__in=Organisation.objects.managed_by(user))
                # email__iexact=None would match every invitation without an address: only a real one
                | (Q(email__iexact=user.email) if user.email else Q(pk__in=[]))
            )
            .select_related("organisation")
            .order_by("-id")
        )

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.invite_member(
            data["organisation"], by=self.request.user, email=data["email"], role=data.get("role", "member")
        )

    def perform_destroy(self, instance):
        services.revoke_invitation(instance, by=self.request.user)

    @extend_schema(
        request=None,
        responses=inline_serializer("AcceptedMembership", {"membership": serializers.IntegerField()}),
    )
    @action(detail=True, methods=["post"])
    def accept(self, request, pk=None):
        membership = services.accept_invitation(self.get_object(), user=request.user)
        return Response({"membership": membership.pk}, status=status.HTTP_200_OK)

    @extend_schema(request=None, responses=InvitationSerializer)
    @action(detail=True, methods=["post"])
    def decline(self, request, pk=None):
        invitation = services.decline_invitation(self.get_object(), user=request.user)
        return Response(self.get_serializer(invitation).data)
