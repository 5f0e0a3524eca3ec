"""get_<field>_display() keeps its labels on the field (core.apps._fast_choice_labels) and answers as Django."""

from functools import partialmethod

import pytest
from django.apps import apps
from django.db.models import Model
from django.utils import translation

from compute.models import Allocation, AllocationStatus


def djangos_label(instance, field_name):
    return Model._get_FIELD_display(instance, instance._meta.get_field(field_name))


def test_every_fixed_choice_field_uses_the_kept_labels():
    replaced = 0
    for model in apps.get_models():
        if model.__module__.startswith("tests."):
            continue  # models the tests declare come after the apps are ready
        for field in model._meta.get_fields():
            if getattr(field, "choices", None) and isinstance(field.choices, (list, tuple)):
                method = model.__dict__.get(f"get_{field.name}_display")
                if isinstance(method, partialmethod):
                    assert method.func is not Model._get_FIELD_display, (model, field.name)
                    replaced += 1
    assert replaced > 20


@pytest.mark.parametrize("language", ["en", "zh-hans"])
@pytest.mark.parametrize("status", [*AllocationStatus.values, "not-a-status", ""])
def test_labels_are_djangos_in_each_language(language, status):
    allocation = Allocation(status=status)
    with translation.override(language):
        assert allocation.get_status_display() == djangos_label(allocation, "status")


def test_the_label_follows_the_language_of_the_request():
    allocation = Allocation(status=AllocationStatus.ACTIVE)
    with translation.override("en"):
        english = allocation.get_status_display()
    with translation.override("zh-hans"):
        chinese = allocation.get_status_display()
        expected = str(AllocationStatus.ACTIVE.label)
    assert english == "Active"
    assert chinese == expected == "生效中"
