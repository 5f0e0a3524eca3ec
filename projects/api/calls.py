"""The incubation API's calls: open calls of the programmes, with eligibility, benefits and review criteria."""

from rest_framework import permissions, serializers, viewsets

from core import pagecache
from projects.models import SCORE_MAX, SCORE_MIN, Call, Criterion, Programme
from projects.views.public import OPEN_CALLS


class CriterionSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)

    class Meta:
        model = Criterion
        fields = ["id", "name", "name_zh", "name_en", "guidance", "weight"]
        read_only_fields = fields


class ProgrammeSerializer(serializers.ModelSerializer):
    title = serializers.CharField(read_only=True)
    criteria = CriterionSerializer(many=True, read_only=True)
    score_scale = serializers.SerializerMethodField()

    class Meta:
        model = Programme
        fields = [
            "id",
            "slug",
            "theme",
            "title",
            "title_zh",
            "title_en",
            "description_zh",
            "description_en",
            "eligible_kinds",
            "voucher_amount",
            "offers_mentoring",
            "offers_demo_day",
            "criteria",
            "score_scale",
        ]
        read_only_fields = fields

    def get_score_scale(self, obj) -> dict:
        return {"min": SCORE_MIN, "max": SCORE_MAX, "not_applicable": True}


class CallSerializer(serializers.ModelSerializer):
    title = serializers.CharField(read_only=True)
    is_open = serializers.BooleanField(read_only=True)
    programme = ProgrammeSerializer(read_only=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "title",
            "title_zh",
            "title_en",
            "opens_at",
            "closes_at",
            "review_deadline",
            "max_card_hours",
            "is_open",
            "programme",
        ]
        read_only_fields = fields


class CallViewSet(pagecache.KeptPublicList, viewsets.ReadOnlyModelViewSet):
    """Open calls of the incubation programmes, with eligibility, benefits and review criteria. Public: a page is
    kept while the calls are unchanged, as the open calls page's body is."""

    serializer_class = CallSerializer
    permission_classes = [permissions.AllowAny]

    def kept_state(self) -> str:
        return OPEN_CALLS.current()

    def get_queryset(self):
        calls = Call.objects.published().select_related("programme").prefetch_related("programme__criteria")
        if self.action == "list":
            calls = calls.open()
        return calls.order_by("closes_at", "id")
