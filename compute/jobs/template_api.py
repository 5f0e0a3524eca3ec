"""Job templates in the API (/api/v1/job-templates/): the catalogue, read only, by id or short name.

Everyone signed in reads the published templates; operators and supervisors may ask for other statuses with
``?status=`` (draft, published, retired). Templates are kept on the operators' pages."""

from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import permissions, serializers, viewsets

from compute import kept
from compute.models import JobKind, JobTemplate, TemplateStatus
from core import pagecache
from core.roles import sees_all_organisations
from core.web import parse_id


class ParameterSerializer(serializers.Serializer):
    name = serializers.CharField(help_text="Written ${name} in the script.")
    type = serializers.ChoiceField(choices=["int", "float", "text", "choice", "bool"])
    label = serializers.CharField(help_text="In the language of the request.")
    label_en = serializers.CharField(required=False, allow_blank=True)
    label_zh = serializers.CharField(required=False, allow_blank=True)
    help = serializers.CharField(required=False, allow_blank=True)
    help_en = serializers.CharField(required=False, allow_blank=True)
    help_zh = serializers.CharField(required=False, allow_blank=True)
    default = serializers.JSONField()
    min = serializers.FloatField(required=False, allow_null=True)
    max = serializers.FloatField(required=False, allow_null=True)
    choices = serializers.ListField(child=serializers.CharField(), required=False)
    max_length = serializers.IntegerField(required=False, allow_null=True)

    def to_representation(self, spec):
        from compute.jobs.catalogue import spec_help, spec_label

        return {**spec, "label": spec_label(spec), "help": spec_help(spec)}


class DefaultResourcesSerializer(serializers.Serializer):
    nodes = serializers.IntegerField()
    cards_per_node = serializers.IntegerField()
    cpus_per_node = serializers.IntegerField()
    memory_gb = serializers.IntegerField()
    time_limit_minutes = serializers.IntegerField()


class JobTemplateSerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)
    summary = serializers.CharField(read_only=True)
    description = serializers.CharField(read_only=True)
    kind_label = serializers.CharField(source="get_kind_display", read_only=True)
    partitions = serializers.SerializerMethodField()
    parameters = ParameterSerializer(many=True, read_only=True)
    default_resources = serializers.SerializerMethodField()

    class Meta:
        model = JobTemplate
        fields = [
            "id",
            "slug",
            "name",
            "name_en",
            "name_zh",
            "summary",
            "summary_en",
            "summary_zh",
            "description",
            "description_en",
            "description_zh",
            "kind",
            "kind_label",
            "status",
            "partitions",
            "parameters",
            "default_resources",
            "script",
            "updated_at",
        ]
        read_only_fields = fields

    def get_partitions(self, template) -> list[str]:
        """The short names of the partitions it fits (empty: any)."""
        return [partition.slug for partition in template.partitions.all()]

    @extend_schema_field(DefaultResourcesSerializer)
    def get_default_resources(self, template) -> dict:
        return template.default_resources()


class TemplateFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=TemplateStatus.choices, required=False)
    kind = serializers.ChoiceField(choices=JobKind.choices, required=False)
    partition = serializers.SlugField(required=False)


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=TemplateStatus.values,
                description="Operators and supervisors only; anyone else sees the published ones.",
            ),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=JobKind.values),
            OpenApiParameter("partition", OpenApiTypes.STR, description="A partition's short name."),
        ]
    ),
    retrieve=extend_schema(
        parameters=[
            OpenApiParameter(
                "id_or_slug", OpenApiTypes.STR, OpenApiParameter.PATH, description="The id or the short name."
            )
        ]
    ),
)
class JobTemplateViewSet(pagecache.KeptPublicList, viewsets.ReadOnlyModelViewSet):
    """The algorithm catalogue: job templates with their parameters and default resources. A page of the list is
    kept like the catalogue page's body, for staff (who may ask for drafts) and everyone else apart."""

    serializer_class = JobTemplateSerializer
    permission_classes = [permissions.IsAuthenticated]
    lookup_url_kwarg = "id_or_slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    queryset = JobTemplate.objects.none()

    def kept_state(self) -> str:
        return f"{kept.TEMPLATES.current()}:{int(sees_all_organisations(self.request.user))}"

    def get_queryset(self):
        templates = JobTemplate.objects.for_user(self.request.user).prefetch_related("partitions")
        if self.action != "list":
            return templates
        params = TemplateFilterSerializer(data=self.request.query_params)
        params.is_valid(raise_exception=True)
        filters = params.validated_data
        status = filters.get("status")
        if status and sees_all_organisations(self.request.user):
            templates = templates.filter(status=status)
        elif status != TemplateStatus.PUBLISHED and status is not None:
            raise serializers.ValidationError(
                {"status": [_("Only the center's operators see templates that are not published.")]}
            )
        else:
            templates = templates.published()
        if filters.get("kind"):
            templates = templates.filter(kind=filters["kind"])
        if filters.get("partition"):
            templates = templates.filter(partitions__slug=filters["partition"])
        return templates.order_by("kind", "slug")

    def get_object(self):
        value = self.kwargs[self.lookup_url_kwarg]
        pk = parse_id(value)
        lookup = {"pk": pk} if pk is not None else {"slug": value}
        template = get_object_or_404(self.get_queryset(), **lookup)
        self.check_object_permissions(self.request, template)
        return template
