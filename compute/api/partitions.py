"""Partitions in the API: public, read only, by id or short name."""

import re

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import permissions, serializers, viewsets

from compute.models import Partition
from core.web import parse_id

SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,50}$")


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
            "max_nodes",
            "cards_per_node",
            "cores_per_node",
            "memory_per_node_gb",
            "max_time_minutes",
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
        pk = parse_id(value)
        lookup = {"pk": pk} if pk is not None else {"slug": value}
        partition = get_object_or_404(self.get_queryset(), **lookup)
        self.check_object_permissions(self.request, partition)
        return partition


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
        pk = parse_id(data)
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
