"""The algorithm catalogue: what a job template's parameters may be, the services that keep templates, the
form fields a template's parameters become, and how values are put into a template's script safely.

A parameter is a dict: ``{"name", "type", "label_en", "label_zh", "help_en", "help_zh", "default", "min",
"max", "choices", "max_length"}``; ``type`` is one of int, float, text, choice, bool. The script names it
``${name}``. ``render_script`` puts a value in as text the shell cannot read as anything but one word: numbers
as their canonical text, bools as 1 or 0, a choice only when it is one of the choices, text quoted with
``shlex.quote`` (and refused if it holds a NUL or a line break).
"""

import math
import re
import shlex
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from compute.jobs.models import JobTemplate, TemplateStatus
from core import audit
from core.states import save_transition
from core.text import bilingual

AUDIT_LABELS = {
    "job_template.create": gettext_lazy("Job template created"),
    "job_template.update": gettext_lazy("Job template changed"),
    "job_template.publish": gettext_lazy("Job template published"),
    "job_template.retire": gettext_lazy("Job template retired"),
}

PARAMETER_TYPES = ("int", "float", "text", "choice", "bool")
PARAMETER_KEYS = {
    "name",
    "type",
    "label_en",
    "label_zh",
    "help_en",
    "help_zh",
    "default",
    "min",
    "max",
    "choices",
    "max_length",
}
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,39}$")
# ${name} in a script; "$${" is not special: a script that needs a literal "${x}" of its own writes it in the
# shell's other forms ($x, "${x:-}" are not matched because the braces hold more than a name).
PLACEHOLDER_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MAX_PARAMETERS = 30
TEXT_MAX_LENGTH = 1000  # the longest text value a template may allow


def check_script_text(script: str) -> str:
    """The rules every batch script follows, from a template or written by a person: within
    ``JOB_SCRIPT_MAX_BYTES``, no NUL, an interpreter line first. Returns the script with Unix line ends."""
    text = script.replace("\r\n", "\n") if isinstance(script, str) else ""
    limit = settings.JOB_SCRIPT_MAX_BYTES
    if len(text.encode()) > limit:
        raise ValidationError(
            _("The script is longer than %(size)s KiB.") % {"size": limit // 1024}, code="script_too_long"
        )
    if "\x00" in text:
        raise ValidationError(_("The script contains a NUL character."), code="script_invalid")
    if not text.startswith("#!"):
        raise ValidationError(
            _("A batch script starts with an interpreter line such as “#!/bin/bash”."), code="script_invalid"
        )
    return text


def blank_script() -> str:
    """Where a person writing their own script starts (the same rules apply: ``check_script_text``)."""
    return '#!/bin/bash\n\necho "Hello from $(hostname)"\n'


def placeholders(script: str) -> list[str]:
    """The parameter names a script uses, in order of first use."""
    return list(dict.fromkeys(PLACEHOLDER_RE.findall(script or "")))


# --- checking a template -------------------------------------------------------------------------------


def _number(value, kind: str):
    if isinstance(value, bool):
        raise ValueError
    if kind == "int":
        if isinstance(value, float) and not value.is_integer():
            raise ValueError
        if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value.strip()):
            raise ValueError
        return int(value)
    result = float(value)
    if not math.isfinite(result):
        raise ValueError
    return result


def check_parameters(parameters) -> list[str]:
    """Every problem of a parameter list, one sentence each (an empty list: it is fine)."""
    if not isinstance(parameters, list):
        return [_("The parameters are a list, written [ … ] in JSON.")]
    if len(parameters) > MAX_PARAMETERS:
        return [_("A template has at most %(count)s parameters.") % {"count": MAX_PARAMETERS}]
    problems, seen = [], set()
    for index, spec in enumerate(parameters, start=1):
        where = _("Parameter %(number)s") % {"number": index}
        if not isinstance(spec, dict):
            problems.append(_("%(where)s is not an object { … }.") % {"where": where})
            continue
        name = spec.get("name")
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append(
                _("%(where)s: the name is letters, digits and underscores, not starting with a digit.")
                % {"where": where}
            )
        else:
            where = _("Parameter “%(name)s”") % {"name": name}
            if name in seen:
                problems.append(_("%(where)s is declared twice.") % {"where": where})
            seen.add(name)
        unknown = sorted(set(spec) - PARAMETER_KEYS)
        if unknown:
            problems.append(
                _("%(where)s: unknown keys %(keys)s.") % {"where": where, "keys": ", ".join(unknown)}
            )
        kind = spec.get("type")
        if kind not in PARAMETER_TYPES:
            problems.append(
                _("%(where)s: the type is one of %(types)s.")
                % {"where": where, "types": ", ".join(PARAMETER_TYPES)}
            )
            continue
        if not (spec.get("label_en") or spec.get("label_zh")):
            problems.append(_("%(where)s needs a label.") % {"where": where})
        for key in ("label_en", "label_zh", "help_en", "help_zh"):
            if key in spec and not isinstance(spec[key], str):
                problems.append(_("%(where)s: “%(key)s” is text.") % {"where": where, "key": key})
        problems.extend(_check_limits(spec, kind, where))
    return problems


def _check_limits(spec: dict, kind: str, where: str) -> list[str]:
    problems = []
    if kind in ("int", "float"):
        bounds = {}
        for key in ("min", "max"):
            if spec.get(key) is not None:
                try:
                    bounds[key] = _number(spec[key], kind)
                except (TypeError, ValueError):
                    problems.append(
                        _("%(where)s: “%(key)s” is not a number of its type.") % {"where": where, "key": key}
                    )
        if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
            problems.append(_("%(where)s: the minimum is above the maximum.") % {"where": where})
        if problems:
            return problems
    if kind == "choice":
        choices = spec.get("choices")
        if (
            not isinstance(choices, list)
            or not choices
            or not all(isinstance(c, str) and c and _one_word(c) for c in choices)
            or len(set(choices)) != len(choices)
        ):
            return [
                _("%(where)s: the choices are a list of different words (letters, digits, . _ - / : + =).")
                % {"where": where}
            ]
    if kind == "text" and spec.get("max_length") is not None:
        length = spec["max_length"]
        if isinstance(length, bool) or not isinstance(length, int) or not 1 <= length <= TEXT_MAX_LENGTH:
            return [
                _("%(where)s: the longest text is a whole number from 1 to %(most)s.")
                % {"where": where, "most": TEXT_MAX_LENGTH}
            ]
    if "default" not in spec or spec["default"] is None:
        return [_("%(where)s needs a default value.") % {"where": where}]
    try:
        clean_value(spec, spec["default"])
    except ValidationError as error:
        problems.append(
            _("%(where)s: the default does not fit: %(problem)s")
            % {"where": where, "problem": " ".join(error.messages)}
        )
    return problems


def _one_word(text: str) -> bool:
    return bool(re.fullmatch(r"[A-Za-z0-9._/:+=@-]+", text))


def check_template(template: JobTemplate) -> None:
    """Raise a ValidationError naming every problem of ``template`` (by field): its parameters, its script's
    size and interpreter line, and parameters declared but unused or used but undeclared."""
    errors: dict[str, list[str]] = {}
    try:
        check_script_text(template.script)
    except ValidationError as error:
        errors.setdefault("script", []).extend(error.messages)
    problems = check_parameters(template.parameters)
    if problems:
        errors["parameters"] = problems
    else:
        declared = [spec["name"] for spec in template.parameters]
        used = placeholders(template.script)
        undeclared = [name for name in used if name not in declared]
        unused = [name for name in declared if name not in used]
        if undeclared:
            errors.setdefault("script", []).append(
                _("The script uses parameters that are not declared: %(names)s.")
                % {"names": ", ".join(undeclared)}
            )
        if unused:
            errors.setdefault("parameters", []).append(
                _("Declared parameters the script does not use: %(names)s.") % {"names": ", ".join(unused)}
            )
    if errors:
        raise ValidationError(errors)


# --- values --------------------------------------------------------------------------------------------


def spec_label(spec: dict) -> str:
    return bilingual(spec.get("label_zh", ""), spec.get("label_en", "")) or spec["name"]


def spec_help(spec: dict) -> str:
    return bilingual(spec.get("help_zh", ""), spec.get("help_en", ""))


def clean_value(spec: dict, value):
    """``value`` as the parameter's type, inside its limits; a ValidationError naming the parameter if not."""
    label, kind = spec_label(spec), spec["type"]
    if kind in ("int", "float"):
        if isinstance(value, Decimal):
            value = str(value)
        try:
            number = _number(value, kind)
        except (TypeError, ValueError, InvalidOperation):
            message = _("“%(label)s” is a whole number.") if kind == "int" else _("“%(label)s” is a number.")
            raise ValidationError(message % {"label": label}, code="invalid") from None
        low, high = spec.get("min"), spec.get("max")
        if low is not None and number < _number(low, kind):
            raise ValidationError(
                _("“%(label)s” is at least %(min)s.") % {"label": label, "min": low}, code="min"
            )
        if high is not None and number > _number(high, kind):
            raise ValidationError(
                _("“%(label)s” is at most %(max)s.") % {"label": label, "max": high}, code="max"
            )
        return number
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value in (0, 1) and not isinstance(value, float):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in (
            "true",
            "false",
            "1",
            "0",
            "yes",
            "no",
            "on",
            "off",
        ):
            return value.strip().lower() in ("true", "1", "yes", "on")
        raise ValidationError(_("“%(label)s” is yes or no.") % {"label": label}, code="invalid")
    if not isinstance(value, str):
        raise ValidationError(_("“%(label)s” is text.") % {"label": label}, code="invalid")
    if kind == "choice":
        if value not in spec.get("choices", []):
            raise ValidationError(
                _("“%(label)s” is one of %(choices)s.")
                % {"label": label, "choices": ", ".join(spec["choices"])},
                code="invalid_choice",
            )
        return value
    if "\x00" in value or "\n" in value or "\r" in value:
        raise ValidationError(
            _("“%(label)s” cannot hold a line break or a NUL character.") % {"label": label}, code="invalid"
        )
    most = spec.get("max_length") or TEXT_MAX_LENGTH
    if len(value) > most:
        raise ValidationError(
            _("“%(label)s” is at most %(count)s characters.") % {"label": label, "count": most},
            code="max_length",
        )
    return value


def clean_parameters(template: JobTemplate, values: dict) -> dict:
    """Every parameter of ``template`` from ``values`` (a missing one takes its default), cleaned; a
    ValidationError naming each problem, unknown names included."""
    if not isinstance(values, dict):
        raise ValidationError(_("The parameters are an object of names and values."), code="invalid")
    specs = {spec["name"]: spec for spec in template.parameters}
    problems, cleaned = [], {}
    unknown = sorted(set(values) - set(specs), key=str)
    if unknown:
        problems.append(
            _("This template has no parameters named %(names)s.") % {"names": ", ".join(map(str, unknown))}
        )
    for name, spec in specs.items():
        value = values.get(name)
        if value is None or value == "" and spec["type"] not in ("text",):
            value = spec.get("default")
        try:
            cleaned[name] = clean_value(spec, value)
        except ValidationError as error:
            problems.extend(error.messages)
    if problems:
        raise ValidationError(problems)
    return cleaned


def shell_text(spec: dict, value) -> str:
    """A cleaned value as the script reads it: one shell word that expands to nothing but itself."""
    kind = spec["type"]
    if kind == "bool":
        return "1" if value else "0"
    if kind == "int":
        return str(int(value))
    if kind == "float":
        return repr(float(value))
    if kind == "choice":
        return value  # one of the template's choices, each a plain word (check_parameters)
    return shlex.quote(value)


def render_script(template: JobTemplate, values: dict) -> str:
    """The template's script with every ``${name}`` replaced by its value, checked against the parameter's
    type and limits. Missing values take their defaults; an unknown name, a value out of its limits, or text
    with a line break or NUL raises a ValidationError (every problem at once)."""
    specs = {spec["name"]: spec for spec in template.parameters}
    if not isinstance(values, dict):
        raise ValidationError(_("The parameters are an object of names and values."), code="invalid")
    unknown = sorted(set(values) - set(specs), key=str)
    if unknown:
        raise ValidationError(
            _("This template has no parameters named %(names)s.") % {"names": ", ".join(map(str, unknown))},
            code="unknown_parameter",
        )
    problems, words = [], {}
    for name, spec in specs.items():
        if name not in values or values[name] is None:
            problems.append(_("“%(label)s” needs a value.") % {"label": spec_label(spec)})
            continue
        try:
            words[name] = shell_text(spec, clean_value(spec, values[name]))
        except ValidationError as error:
            problems.extend(error.messages)
    if problems:
        raise ValidationError(problems)
    missing = [name for name in placeholders(template.script) if name not in words]
    if missing:  # a template saved past check_template cannot get here; refuse rather than leave ${x}
        raise ValidationError(_("The template's script uses undeclared parameters."), code="invalid_template")
    script = PLACEHOLDER_RE.sub(lambda match: words[match.group(1)], template.script)
    return check_script_text(script)


# --- the form -----------------------------------------------------------------------------------------


def parameter_field(spec: dict) -> forms.Field:
    common = {"label": spec_label(spec), "help_text": spec_help(spec), "initial": spec.get("default")}
    kind = spec["type"]
    if kind == "int":
        return forms.IntegerField(min_value=spec.get("min"), max_value=spec.get("max"), **common)
    if kind == "float":
        return forms.FloatField(min_value=spec.get("min"), max_value=spec.get("max"), **common)
    if kind == "bool":
        return forms.BooleanField(required=False, **common)
    if kind == "choice":
        return forms.ChoiceField(choices=[(c, c) for c in spec["choices"]], **common)
    return forms.CharField(
        max_length=spec.get("max_length") or TEXT_MAX_LENGTH, strip=False, required=False, **common
    )


def parameter_fields(template: JobTemplate) -> dict[str, forms.Field]:
    """The form fields of a template's parameters, by parameter name, in the template's order."""
    return {spec["name"]: parameter_field(spec) for spec in template.parameters}


def parameter_form_class(template: JobTemplate) -> type[forms.Form]:
    """A form of just the template's parameters; its ``cleaned_data`` goes to ``render_script``."""
    return type("TemplateParametersForm", (forms.Form,), dict(parameter_fields(template)))


def describe_limits(spec: dict) -> str:
    """The limits of a parameter in a few words, for the template's page."""
    kind = spec["type"]
    if kind in ("int", "float"):
        low, high = spec.get("min"), spec.get("max")
        if low is not None and high is not None:
            return f"{low} – {high}"
        if low is not None:
            return f"≥ {low}"
        if high is not None:
            return f"≤ {high}"
        return ""
    if kind == "choice":
        return " | ".join(spec.get("choices", []))
    if kind == "text":
        return _("up to %(count)s characters") % {"count": spec.get("max_length") or TEXT_MAX_LENGTH}
    return _("yes or no")


# --- services -----------------------------------------------------------------------------------------

EDITABLE_FIELDS = (
    "slug",
    "name_en",
    "name_zh",
    "summary_en",
    "summary_zh",
    "description_en",
    "description_zh",
    "kind",
    "script",
    "parameters",
    "nodes",
    "cards_per_node",
    "cpus_per_node",
    "memory_gb",
    "time_limit_minutes",
)


def _require_operator(user: User) -> None:
    from accounts.access import require_operator

    require_operator(user, _("Only the center's operators keep the job templates."))


@transaction.atomic
def create_job_template(*, by: User, partitions=(), **fields) -> JobTemplate:
    """A new template, a draft until it is published; checked whole (``full_clean``) and audited."""
    _require_operator(by)
    template = JobTemplate(**{key: fields[key] for key in EDITABLE_FIELDS if key in fields})
    template.status = TemplateStatus.DRAFT
    template.script = template.script.replace("\r\n", "\n")
    template.created_by = template.updated_by = by
    template.full_clean()
    template.save()
    template.partitions.set(partitions)
    audit.record(
        "job_template.create",
        template,
        actor=by,
        changes={
            "slug": (None, template.slug),
            "status": (None, template.status),
            "partitions": (None, sorted(p.slug for p in partitions)),
        },
    )
    return template


@transaction.atomic
def update_job_template(template: JobTemplate, *, by: User, partitions=None, **fields) -> JobTemplate:
    """Change a template's fields (any status: a published one changes for the next jobs, not for jobs
    already submitted, which keep the script as it was sent); audited with each field's before and after."""
    _require_operator(by)
    template = JobTemplate.objects.select_for_update().get(pk=template.pk)
    changes = {}
    for key in EDITABLE_FIELDS:
        if key in fields:
            value = fields[key].replace("\r\n", "\n") if key == "script" else fields[key]
            if getattr(template, key) != value:
                before = getattr(template, key)
                changes[key] = ("…", "…") if key in ("script", "parameters") else (before, value)
                setattr(template, key, value)
    template.updated_by = by
    template.full_clean()
    template.save()
    if partitions is not None:
        before = sorted(template.partitions.values_list("slug", flat=True))
        after = sorted(p.slug for p in partitions)
        if before != after:
            template.partitions.set(partitions)
            changes["partitions"] = (before, after)
    if changes:
        audit.record("job_template.update", template, actor=by, changes=changes)
    return template


@transaction.atomic
def publish_job_template(template: JobTemplate, *, by: User) -> JobTemplate:
    """Put a draft or retired template in the catalogue (checked again: it must be whole to be used)."""
    _require_operator(by)
    template = JobTemplate.objects.select_for_update().get(pk=template.pk)
    template.full_clean()
    old = template.publish()
    template.updated_by = by
    save_transition(template, old, by=by, action="job_template.publish", fields=("updated_by", "updated_at"))
    return template


@transaction.atomic
def retire_job_template(template: JobTemplate, *, by: User) -> JobTemplate:
    """Take a template out of the catalogue; jobs already submitted from it keep their record."""
    _require_operator(by)
    template = JobTemplate.objects.select_for_update().get(pk=template.pk)
    old = template.retire()
    template.updated_by = by
    save_transition(template, old, by=by, action="job_template.retire", fields=("updated_by", "updated_at"))
    return template
