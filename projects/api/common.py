"""What the incubation API's views share: status fields with their named schema enums, attachments, and
reading a request body."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from projects.models import ApplicationStatus, AssignmentStatus, Attachment, ProjectStatus, Recommendation


def choice_field(choices, component_name: str, *, blank: str = ""):
    """A ChoiceField of ``choices`` (TextChoices) named ``component_name`` in the schema; ``blank`` describes
    the empty value when it is allowed."""
    schema = {"type": "string", "enum": [*choices.values, ""] if blank else choices.values}
    if blank:
        schema["description"] = blank

    @extend_schema_field(schema, component_name=component_name)
    class Field(serializers.ChoiceField):
        def __init__(self, **kwargs):
            if blank:
                kwargs.setdefault("allow_blank", True)
            super().__init__(choices=choices.choices, **kwargs)

    Field.__name__ = Field.__qualname__ = component_name.removesuffix("Enum") + "Field"
    return Field


ApplicationStatusField = choice_field(ApplicationStatus, "ApplicationStatusEnum")
AssignmentStatusField = choice_field(AssignmentStatus, "ReviewAssignmentStatusEnum")
RecommendationField = choice_field(
    Recommendation, "ReviewRecommendationEnum", blank="yes, maybe or no; empty before a review."
)
ProjectStatusField = choice_field(ProjectStatus, "IncubatedProjectStatusEnum")


class AttachmentSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "original_name", "size", "uploaded_at", "download_url"]
        read_only_fields = fields

    def get_download_url(self, obj) -> str:
        return obj.get_absolute_url()


def validated(serializer_class, data) -> dict:
    """The request body read by ``serializer_class``; a 400 with the field errors when it is not valid."""
    body = serializer_class(data=data)
    body.is_valid(raise_exception=True)
    return body.validated_data
