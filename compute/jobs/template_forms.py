"""The operators' form of a job template: its fields, the partitions it fits, and its parameters as JSON."""

import json

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from compute.jobs import catalogue
from compute.models import JobTemplate, Partition

PARAMETERS_HELP = _(
    'A JSON list, one object per parameter: {"name": "epochs", "type": "int", "label_en": "Epochs", '
    '"label_zh": "训练轮数", "help_en": "", "help_zh": "", "default": 10, "min": 1, "max": 1000}. '
    "Types: int, float, text (max_length), choice (choices: a list of words), bool. The script writes a "
    "parameter as ${name}."
)


class JobTemplateForm(forms.ModelForm):
    partitions = forms.ModelMultipleChoiceField(
        label=_("Partitions it fits"),
        queryset=Partition.objects.order_by("slug"),
        required=False,
        help_text=_("Jobs from this template may run only on these partitions (none chosen: any)."),
    )
    parameters_json = forms.CharField(
        label=_("Parameters"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false", "class": "font-monospace"}),
        help_text=PARAMETERS_HELP,
    )

    class Meta:
        model = JobTemplate
        fields = [
            "slug",
            "name_en",
            "name_zh",
            "kind",
            "summary_en",
            "summary_zh",
            "description_en",
            "description_zh",
            "partitions",
            "script",
            "parameters_json",
            "nodes",
            "cards_per_node",
            "cpus_per_node",
            "memory_gb",
            "time_limit_minutes",
        ]
        widgets = {
            "description_en": forms.Textarea(attrs={"rows": 4}),
            "description_zh": forms.Textarea(attrs={"rows": 4}),
            "script": forms.Textarea(attrs={"rows": 16, "spellcheck": "false", "class": "font-monospace"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["script"].strip = False
        self.fields["script"].widget.attrs["maxlength"] = settings.JOB_SCRIPT_MAX_BYTES
        if self.instance.pk:
            self.fields["partitions"].initial = list(self.instance.partitions.all())
            self.fields["parameters_json"].initial = json.dumps(
                self.instance.parameters, ensure_ascii=False, indent=2
            )
        else:
            self.fields["script"].initial = catalogue.blank_script()
            self.fields["parameters_json"].initial = "[]"

    def clean_parameters_json(self):
        text = (self.cleaned_data.get("parameters_json") or "").strip() or "[]"
        try:
            parameters = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValidationError(
                _("This is not valid JSON (line %(line)s, column %(column)s): %(problem)s"),
                params={"line": error.lineno, "column": error.colno, "problem": error.msg},
            ) from None
        problems = catalogue.check_parameters(parameters)
        if problems:
            raise ValidationError(problems)
        return parameters

    def _post_clean(self):
        # The model's own check (script against parameters) runs in the service; here only the parameters'
        # JSON goes onto the instance so the form's errors are complete in one pass.
        if "parameters_json" in self.cleaned_data:
            self.instance.parameters = self.cleaned_data["parameters_json"]
        super()._post_clean()

    def _update_errors(self, errors):
        # The model names the parameters "parameters"; on this form they are the JSON field.
        if hasattr(errors, "error_dict") and "parameters" in errors.error_dict:
            errors.error_dict["parameters_json"] = errors.error_dict.pop("parameters")
        super()._update_errors(errors)

    def service_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["parameters"] = data.pop("parameters_json", [])
        partitions = list(data.pop("partitions", []) or [])
        return {"partitions": partitions, **{k: v for k, v in data.items() if k in catalogue.EDITABLE_FIELDS}}


class CatalogueFilterForm(forms.Form):
    kind = forms.ChoiceField(required=False)
    partition = forms.SlugField(required=False)
