"""The job form: an allocation, the resources, and either a template's parameters or a script of one's own."""

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from compute.jobs import catalogue
from compute.jobs.services import JobRequest, usable_allocations
from compute.models import Allocation

PARAMETER_PREFIX = "param_"


class _ReadOnce(forms.models.ModelChoiceIterator):
    """The choices from the queryset's own rows: read once per form, whoever asks (the select asks twice, and
    the page asks whether there is any), not once per iteration as Django's ``iterator()`` does."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for allocation in self.queryset:
            yield self.choice(allocation)


class AllocationChoiceField(forms.ModelChoiceField):
    iterator = _ReadOnce

    def label_from_instance(self, allocation):
        return f"{allocation.account_name} · {allocation.partition.display_name} · {allocation.organisation.display_name}"


class JobForm(forms.Form):
    allocation = AllocationChoiceField(
        label=_("Allocation"),
        queryset=None,
        empty_label=None,
        help_text=_("The quota the job uses; it runs on that allocation's partition."),
    )
    name = forms.CharField(
        label=_("Job name"),
        max_length=64,
        help_text=_("Letters, digits, “-”, “_” and “.”; it names the output files too."),
    )
    nodes = forms.IntegerField(label=_("Nodes"), min_value=1, initial=1)
    cards_per_node = forms.IntegerField(label=_("Accelerator cards per node"), min_value=0, initial=0)
    cpus_per_node = forms.IntegerField(label=_("CPU cores per node"), min_value=1, initial=1)
    memory_gb = forms.IntegerField(label=_("Memory per node (GB)"), min_value=1, initial=4)
    time_limit_minutes = forms.IntegerField(
        label=_("Time limit (minutes)"),
        min_value=1,
        initial=60,
        help_text=_("The job is stopped when it runs longer; the quota it can use counts from this."),
    )
    script = forms.CharField(
        label=_("Batch script"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "false", "class": "font-monospace"}),
        help_text=_(
            "A shell script starting with “#!/bin/bash”. Resources come from the fields above, not from #SBATCH lines."
        ),
    )

    def __init__(self, *args, user, template=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.template = user, template
        # The person's usable allocations by id: a DISTINCT over the joined rows' every column costs more to plan
        # than to run.
        self.fields["allocation"].queryset = (
            Allocation.objects.filter(pk__in=usable_allocations(user).values("pk"))
            .select_related("partition", "organisation")
            .order_by("-id")
        )
        if template is not None:
            del self.fields["script"]
            for name, field in catalogue.parameter_fields(template).items():
                self.fields[PARAMETER_PREFIX + name] = field
            defaults = template.default_resources()
            for key, value in defaults.items():
                if key in self.fields:
                    self.fields[key].initial = value
            self.fields["name"].initial = template.slug
            partitions = list(template.partitions.all())
            if partitions:
                self.fields["allocation"].queryset = self.fields["allocation"].queryset.filter(
                    partition__in=partitions
                )
        else:
            self.fields["script"].required = True
            self.fields["script"].initial = catalogue.blank_script()
            self.fields["name"].initial = "job"
        if "script" in self.fields:
            self.fields["script"].widget.attrs["maxlength"] = settings.JOB_SCRIPT_MAX_BYTES

    def parameter_bound_fields(self):
        return [self[name] for name in self.fields if name.startswith(PARAMETER_PREFIX)]

    def resource_bound_fields(self):
        return [
            self[name]
            for name in ("nodes", "cards_per_node", "cpus_per_node", "memory_gb", "time_limit_minutes")
        ]

    def clean_script(self):
        script = self.cleaned_data.get("script") or ""
        return catalogue.check_script_text(script) if self.template is None else script

    def clean(self):
        cleaned = super().clean()
        if self.template is not None and not self.errors:
            values = {
                name[len(PARAMETER_PREFIX) :]: value
                for name, value in cleaned.items()
                if name.startswith(PARAMETER_PREFIX)
            }
            try:
                cleaned["script"] = catalogue.render_script(self.template, values)
            except ValidationError as error:
                for message in error.messages:
                    self.add_error(None, message)
            cleaned["parameters"] = dict(values)
        return cleaned

    def job_request(self) -> JobRequest:
        data = self.cleaned_data
        return JobRequest(
            allocation=data["allocation"],
            script=data["script"],
            name=data["name"],
            nodes=data["nodes"],
            cards_per_node=data["cards_per_node"],
            cpus_per_node=data["cpus_per_node"],
            memory_gb=data["memory_gb"],
            time_limit_minutes=data["time_limit_minutes"],
            template=self.template,
            parameters=_jsonable(data.get("parameters") or {}),
        )


def _jsonable(values: dict) -> dict:
    return {
        key: value if isinstance(value, str | int | float | bool) or value is None else str(value)
        for key, value in values.items()
    }
