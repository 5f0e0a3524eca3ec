"""Serializers the alliance's API modules share."""

from rest_framework import serializers

from accounts.models import Organisation
from alliance.models import CapabilityTag


class AllianceCapabilitySerializer(serializers.ModelSerializer):
    name = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = CapabilityTag
        fields = ["slug", "name", "name_zh", "name_en"]


class OwnOrganisationSerializer(serializers.ModelSerializer):
    """A model serializer whose ``organisation`` is one of the requester's own organisations."""

    organisation = serializers.PrimaryKeyRelatedField(queryset=Organisation.objects.none())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            self.fields["organisation"].queryset = Organisation.objects.filter(memberships__user=request.user)
