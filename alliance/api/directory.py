"""The public alliance directory in the API: entries, a member's visible profile, and facet counts."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import permissions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from accounts.models import Sector
from alliance.api.common import AllianceCapabilitySerializer
from alliance.models import AllianceProfile, DirectoryEntry, Tier
from alliance.services import directory, profiles
from core import pagecache
from core.pagination import CursorPagination


class DirectoryEntrySerializer(serializers.ModelSerializer):
    """Public values only: an entry never holds private or members-only fields."""

    organisation = serializers.IntegerField(source="organisation_id", read_only=True)
    tier_label = serializers.CharField(source="get_tier_display", read_only=True)
    capabilities = AllianceCapabilitySerializer(many=True, read_only=True)

    class Meta:
        model = DirectoryEntry
        fields = [
            "organisation",
            "name_zh",
            "name_en",
            "kind",
            "sector",
            "city",
            "tier",
            "tier_label",
            "member_since",
            "summary",
            "capabilities",
        ]
        read_only_fields = fields


class AllianceProfileSerializer(serializers.Serializer):
    description = serializers.CharField(required=False)
    website = serializers.CharField(required=False)
    contact_name = serializers.CharField(required=False)
    contact_email = serializers.CharField(required=False)
    contact_phone = serializers.CharField(required=False)
    logo = serializers.SerializerMethodField()
    capabilities = AllianceCapabilitySerializer(many=True, required=False)

    def get_logo(self, obj) -> str | None:
        logo = obj.get("logo")
        return logo.url if logo else None


class AllianceFacetValueSerializer(serializers.Serializer):
    value = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()
    selected = serializers.BooleanField()


class DirectoryPagination(CursorPagination):
    ordering = "pk"


DIRECTORY_PARAMETERS = [
    OpenApiParameter(
        "q",
        OpenApiTypes.STR,
        description="Keywords (Chinese or English) in names, descriptions, capabilities and solutions.",
    ),
    OpenApiParameter(
        "kind",
        OpenApiTypes.STR,
        enum=["enterprise", "university", "research_institute", "government", "other"],
    ),
    OpenApiParameter("tier", OpenApiTypes.STR, enum=Tier.values),
    OpenApiParameter("sector", OpenApiTypes.STR, enum=Sector.values),
    OpenApiParameter("city", OpenApiTypes.STR),
    OpenApiParameter(
        "capability", OpenApiTypes.STR, many=True, description="Capability short names (all must match)."
    ),
]


def directory_query(params) -> directory.DirectoryQuery:
    """The filters of the request; an unknown kind, tier or sector is a 400 that names it (the page drops it
    quietly, but a program must learn that its filter was not applied)."""
    query = directory.DirectoryQuery.from_params(params)
    if query.errors:
        raise serializers.ValidationError(
            {
                name: [_("“%(value)s” is not one of the choices.") % {"value": params.get(name)}]
                for name in query.errors
            }
        )
    return query


class DirectoryViewSet(pagecache.KeptPublicList, viewsets.ReadOnlyModelViewSet):
    """The public alliance directory: current members with the same filters and search as the page. A page is
    kept per state of the directory (``directory.STATE``), as the page's body is."""

    serializer_class = DirectoryEntrySerializer
    permission_classes = [permissions.AllowAny]
    pagination_class = DirectoryPagination
    lookup_value_regex = r"[0-9]{1,18}"

    def kept_state(self) -> str:
        return directory.generation()

    def get_queryset(self):
        query = directory_query(self.request.query_params)
        return directory.entries(query).order_by("pk")

    @extend_schema(parameters=DIRECTORY_PARAMETERS)
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        responses=inline_serializer(
            "DirectoryDetail", {"entry": DirectoryEntrySerializer(), "profile": AllianceProfileSerializer()}
        )
    )
    def retrieve(self, request, *args, **kwargs):
        entry = get_object_or_404(DirectoryEntry.objects.listed(), pk=kwargs["pk"])
        audience = profiles.audience(request.user, entry.pk)
        profile = (
            AllianceProfile.objects.filter(organisation_id=entry.pk).prefetch_related("capabilities").first()
        )
        shown = profiles.visible_profile(profile, audience)
        return Response(
            {"entry": DirectoryEntrySerializer(entry).data, "profile": AllianceProfileSerializer(shown).data}
        )

    @extend_schema(
        parameters=DIRECTORY_PARAMETERS,
        responses=inline_serializer(
            "DirectoryFacets",
            {
                name: AllianceFacetValueSerializer(many=True)
                for name in ("kind", "tier", "sector", "city", "capability")
            },
        ),
    )
    @action(detail=False)
    def facets(self, request):
        """Counts per facet value for the given filters."""
        query = directory_query(request.query_params)
        return Response(
            {
                name: AllianceFacetValueSerializer(values, many=True).data
                for name, values in directory.facets(query).items()
            }
        )
