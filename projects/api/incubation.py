"""The incubation API's incubated projects: those of my organisations and those I mentor."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import permissions, serializers, viewsets

from projects.api.common import ProjectStatusField
from projects.models import Project


class ProjectSerializer(serializers.ModelSerializer):
    status = ProjectStatusField(read_only=True)
    organisation_name = serializers.CharField(source="organisation.display_name", read_only=True)
    benefits = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "title",
            "organisation",
            "organisation_name",
            "programme",
            "application",
            "status",
            "status_reason",
            "started_at",
            "ended_at",
            "benefits",
        ]
        read_only_fields = fields

    @extend_schema_field(
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"kind": {"type": "string"}, "amount": {"type": "string", "nullable": True}},
            },
        }
    )
    def get_benefits(self, obj):
        return [
            {"kind": b.kind, "amount": None if b.amount is None else str(b.amount)}
            for b in obj.benefits.all()
        ]


class ProjectViewSet(viewsets.ReadOnlyModelViewSet):
    """Incubated projects of my organisations and those I mentor (all for operators and supervisors)."""

    serializer_class = ProjectSerializer
    permission_classes = [permissions.IsAuthenticated]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Project.objects.none()
        return (
            Project.objects.for_user(self.request.user)
            .select_related("organisation")
            .prefetch_related("benefits")
            .order_by("-id")
        )
