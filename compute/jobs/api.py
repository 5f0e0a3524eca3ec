"""Jobs in the API: the live queue (``jobs/``, with ``scope`` mine, organisation or all), submission (POST
``jobs/``), one job (``jobs/<cluster>/<job id>/``), its cancellation and the tail of its output. The same
services and the same checks as the pages; another organisation's job is a 404."""

from django.utils.translation import get_language
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from compute.jobs import catalogue, output, queue, services
from compute.jobs.services import JobRequest, usable_allocations
from compute.models import JobTemplate
from core.pagination import paginate

JOBS_PER_API_PAGE = 100


class QueuedJobSerializer(serializers.Serializer):
    cluster = serializers.CharField()
    job_id = serializers.CharField(source="job.job_id")
    name = serializers.CharField(source="job.name")
    user = serializers.CharField(source="job.user")
    account = serializers.CharField(source="job.account")
    partition = serializers.CharField(source="job.partition")
    state = serializers.CharField(
        source="job.state", help_text="Slurm's state: PENDING, RUNNING, COMPLETED, ..."
    )
    reason = serializers.CharField(help_text="Why a pending job waits, in words (empty otherwise).")
    submit_time = serializers.DateTimeField(source="job.submit_time", allow_null=True)
    start_time = serializers.DateTimeField(source="job.start_time", allow_null=True)
    end_time = serializers.DateTimeField(source="job.end_time", allow_null=True)
    time_limit_minutes = serializers.IntegerField(source="job.time_limit_minutes")
    elapsed_seconds = serializers.IntegerField(source="job.elapsed_seconds")
    nodes = serializers.IntegerField(source="job.nodes")
    cpus = serializers.IntegerField(source="job.cpus")
    cards = serializers.IntegerField(source="job.cards")
    allocation = serializers.SerializerMethodField()
    cost = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="Used so far, in the unit.")
    unit = serializers.SerializerMethodField()
    template = serializers.SerializerMethodField()

    def get_allocation(self, row) -> int | None:
        return row.allocation.pk if row.allocation else None

    def get_unit(self, row) -> str:
        return row.allocation.partition.unit if row.allocation else ""

    def get_template(self, row) -> str | None:
        return row.submission.template.slug if row.submission and row.submission.template else None


class QueueSerializer(serializers.Serializer):
    jobs = QueuedJobSerializer(many=True)
    unreachable = serializers.ListField(
        child=serializers.CharField(), help_text="Clusters that did not answer: their jobs are missing."
    )
    page = serializers.IntegerField(help_text="This page's number (``?page=``, 1 and up).")
    has_next = serializers.BooleanField(help_text="Whether ``page + 1`` holds more jobs.")


class SubmitSerializer(serializers.Serializer):
    allocation = serializers.IntegerField(help_text="An active allocation the caller is a user of.")
    template = serializers.SlugField(
        required=False, help_text="A published template's slug; or give `script`."
    )
    parameters = serializers.DictField(required=False, default=dict, help_text="The template's parameters.")
    script = serializers.CharField(required=False, trim_whitespace=False, help_text="A script of one's own.")
    name = serializers.CharField(max_length=64, required=False, default="job")
    partition = serializers.CharField(required=False, max_length=64, help_text="If given, the allocation's.")
    nodes = serializers.IntegerField(min_value=1, max_value=100000, required=False)
    cards_per_node = serializers.IntegerField(min_value=0, max_value=100000, required=False)
    cpus_per_node = serializers.IntegerField(min_value=1, max_value=100000, required=False)
    memory_gb = serializers.IntegerField(min_value=1, max_value=1000000, required=False)
    time_limit_minutes = serializers.IntegerField(min_value=1, max_value=10000000, required=False)

    def validate(self, data):
        user = self.context["request"].user
        allocation = usable_allocations(user).filter(pk=data["allocation"]).first()
        if allocation is None:
            raise serializers.ValidationError(
                {"allocation": _("No active allocation with this id that you are a user of.")}
            )
        template = None
        if data.get("template"):
            template = JobTemplate.objects.published().filter(slug=data["template"]).first()
            if template is None:
                raise serializers.ValidationError({"template": _("No published template with this name.")})
            if data.get("script"):
                raise serializers.ValidationError({"script": _("Give a template or a script, not both.")})
            try:
                values = catalogue.clean_parameters(template, data.get("parameters") or {})
                script = catalogue.render_script(template, values)
            except Exception as error:  # a ValidationError of the catalogue, with its messages
                messages = getattr(error, "messages", [str(error)])
                raise serializers.ValidationError({"parameters": messages}) from error
            defaults = template.default_resources()
        else:
            if not data.get("script"):
                raise serializers.ValidationError({"script": _("Give a template or a script.")})
            script, values, defaults = data["script"], {}, {}
        resources = {
            key: data.get(key, defaults.get(key, fallback))
            for key, fallback in (
                ("nodes", 1),
                ("cards_per_node", 0),
                ("cpus_per_node", 1),
                ("memory_gb", 4),
                ("time_limit_minutes", 60),
            )
        }
        data["request"] = JobRequest(
            allocation=allocation,
            script=script,
            name=data.get("name") or "job",
            template=template,
            parameters={
                key: value if isinstance(value, str | int | float | bool) else str(value)
                for key, value in values.items()
            },
            partition=data.get("partition", ""),
            **resources,
        )
        return data


class CancelSerializer(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class OutputSerializer(serializers.Serializer):
    stream = serializers.CharField()
    path = serializers.CharField()
    text = serializers.CharField(help_text="The end of the file (JOB_OUTPUT_TAIL_BYTES at most).")
    truncated = serializers.BooleanField()
    problem = serializers.CharField(help_text="Why nothing is shown, when nothing is.")


class JobListView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[
            OpenApiParameter("scope", str, enum=list(queue.SCOPES), description="Whose jobs."),
            OpenApiParameter(
                "page", {"type": "integer", "minimum": 1, "maximum": 10000}, description="The page, 1 and up."
            ),
        ],
        responses=QueueSerializer,
        summary="The live queue as the caller may see it",
        operation_id="jobs_list",
    )
    def get(self, request):
        scope = request.query_params.get("scope", "mine")
        if scope not in queue.SCOPES:
            return Response(
                {"scope": [_("One of: mine, organisation, all.")]}, status=status.HTTP_400_BAD_REQUEST
            )
        number = request.query_params.get("page", "1")
        if not (number.isascii() and number.isdigit() and 0 < int(number) <= 10_000):
            return Response({"page": [_("A page number from 1.")]}, status=status.HTTP_400_BAD_REQUEST)
        # As on "My jobs": the answer made from the scheduler's kept answer is kept as long (queue.shown).
        kept, check = queue.shown(request.user, f"api-{scope}", int(number), get_language())
        if kept is None:
            scopes = queue.allowed_scopes(request.user)
            if scope not in scopes:
                return Response(
                    {"scope": [_("You may not see these jobs.")]}, status=status.HTTP_403_FORBIDDEN
                )
            jobs = queue.queue_for(request.user, scope, scopes=scopes)
            page = paginate(request, jobs.entries, per_page=JOBS_PER_API_PAGE)
            data = QueueSerializer(
                {
                    "jobs": jobs.rows_for(page.object_list),
                    "unreachable": jobs.unreachable,
                    "page": page.number,
                    "has_next": page.has_next,
                }
            ).data
            kept = {"data": data}
            queue.keep_shown(request.user, f"api-{scope}", int(number), get_language(), kept, check, jobs)
        return Response(kept["data"])

    @extend_schema(
        request=SubmitSerializer,
        responses={201: QueuedJobSerializer},
        summary="Submit a job",
        operation_id="jobs_submit",
    )
    def post(self, request):
        serializer = SubmitSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        record = services.submit_job(serializer.validated_data["request"], by=request.user)
        queue.forget(record.cluster, record.allocation.organisation_id)
        row = queue.find_job(request.user, record.cluster, record.job_id)
        return Response(QueuedJobSerializer(row).data, status=status.HTTP_201_CREATED)


def _row(request, cluster: str, job_id: str):
    try:
        return queue.find_job(request.user, cluster, job_id)
    except LookupError:
        raise NotFound(_("No such job, or not one of yours.")) from None


class JobDetailView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses=QueuedJobSerializer, summary="One job", operation_id="jobs_retrieve")
    def get(self, request, cluster: str, job_id: str):
        return Response(QueuedJobSerializer(_row(request, cluster, job_id)).data)


class JobCancelView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=CancelSerializer,
        responses={204: None},
        summary="Cancel a pending or running job",
        operation_id="jobs_cancel",
    )
    def post(self, request, cluster: str, job_id: str):
        row = _row(request, cluster, job_id)
        serializer = CancelSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.cancel_job(
            row.job,
            cluster=cluster,
            allocation=row.allocation,
            by=request.user,
            reason=serializer.validated_data["reason"],
        )
        queue.forget(cluster, row.allocation.organisation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class JobOutputView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        parameters=[OpenApiParameter("stream", str, enum=["stdout", "stderr"])],
        responses=OutputSerializer,
        summary="The end of a job's standard output or error",
        operation_id="jobs_output",
    )
    def get(self, request, cluster: str, job_id: str):
        stream = request.query_params.get("stream", "stdout")
        if stream not in ("stdout", "stderr"):
            return Response({"stream": [_("One of: stdout, stderr.")]}, status=status.HTTP_400_BAD_REQUEST)
        row = _row(request, cluster, job_id)
        if not queue.may_read_output(request.user, row.job, row.allocation, standing=row.standing):
            raise NotFound(_("No such job, or not one of yours."))
        tail = output.tail_of(row, stream)
        return Response(
            OutputSerializer(
                {
                    "stream": stream,
                    "path": tail.path,
                    "text": tail.text,
                    "truncated": tail.truncated,
                    "problem": tail.problem,
                }
            ).data
        )
