"""What the compute API's views share: operator permissions, filters from the query string, and the
actions that run one service on one object and answer with the object as it is now."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from core.roles import is_operator, is_supervisor
from core.web import IdField


class IsOperatorOrSupervisor(permissions.BasePermission):
    message = _("Only the center's operators and supervisors see reconciliation runs.")

    def has_permission(self, request, view):
        return is_operator(request.user) or is_supervisor(request.user)


class IsOperator(permissions.BasePermission):
    message = _("Only the center's operators run a reconciliation.")

    def has_permission(self, request, view):
        return is_operator(request.user)


# A request or an allocation: an organisation's, on a partition, both also named for people. (A comment, not a
# docstring: the API schema would show a docstring as the description of both.)
class OnPartitionSerializer(serializers.ModelSerializer):
    # The first fields of both, in this order.
    LEADING_FIELDS = ["id", "organisation", "organisation_name", "partition", "partition_slug"]

    organisation_name = serializers.CharField(source="organisation.display_name", read_only=True)
    partition_slug = serializers.SlugField(source="partition.slug", read_only=True)


class OrganisationFilterSerializer(serializers.Serializer):
    """``?status=`` and ``?organisation=<id>`` on a list (a subclass gives ``status`` its choices)."""

    organisation = IdField(required=False)


def query_params(serializer_class, request) -> dict:
    params = serializer_class(data=request.query_params)
    params.is_valid(raise_exception=True)
    return params.validated_data


class OrganisationObjectsMixin:
    """A viewset over one organisation-scoped model: its list filtered by ``filter_class``, and actions
    that call a service on the object and answer with it (read again, as the list shows it)."""

    filter_class: type[serializers.Serializer]

    def filter_list(self, queryset):
        if self.action != "list":
            return queryset
        params = query_params(self.filter_class, self.request)
        if "status" in params:
            queryset = queryset.filter(status=params["status"])
        if "organisation" in params:
            queryset = queryset.filter(organisation_id=params["organisation"])
        return queryset

    def respond(self, obj, status_code=status.HTTP_200_OK) -> Response:
        fresh = self.get_queryset().get(pk=obj.pk)
        return Response(
            self.serializer_class(fresh, context=self.get_serializer_context()).data, status=status_code
        )

    def act(self, service, payload_class=None, status_code=status.HTTP_200_OK) -> Response:
        """``service(object, by=the user, **the payload)``, then the object as it is now."""
        obj = self.get_object()
        options = {}
        if payload_class is not None:
            payload = payload_class(data=self.request.data)
            payload.is_valid(raise_exception=True)
            options = payload.validated_data
        service(obj, by=self.request.user, **options)
        return self.respond(obj, status_code)


def object_action(name: str, service, payload=None, *, answer, status_code=status.HTTP_200_OK, url_path=None):
    """A ``POST <id>/<name>/`` action of an ``OrganisationObjectsMixin`` viewset that runs ``service`` with the
    ``payload`` serializer's data and answers with the object (serialized by ``answer``)."""

    def run(self, request, pk=None):
        return self.act(service, payload, status_code)

    run.__name__ = name  # the router names the route and its method after it
    responses = answer if status_code == status.HTTP_200_OK else {status_code: answer}
    return extend_schema(request=payload, responses=responses)(
        action(detail=True, methods=["post"], url_path=url_path)(run)
    )
