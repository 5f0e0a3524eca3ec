"""The hook registry: apps register what they offer, the portal loops over it in a known order."""

import pytest

from core import hooks


@pytest.fixture
def registry(monkeypatch):
    monkeypatch.setattr(hooks, "_registry", hooks.defaultdict(list))
    return hooks


def test_values_come_back_by_order_then_as_registered(registry):
    registry.register("panels", "b.html", order=20)
    registry.register("panels", "a.html", order=10)
    registry.register("panels", "c.html", order=20)
    assert registry.values("panels") == ["a.html", "b.html", "c.html"]
    assert registry.values("nothing registered") == []


def test_a_decorator_registers_the_function_with_its_options(registry):
    @registry.register("sections", name="profile")
    def profile(user):
        return {"email": user}

    (hook,) = registry.get("sections")
    assert hook.value is profile and hook.name == "profile" and hook.app == "tests"
    with pytest.raises(AttributeError):
        hook.missing_option  # noqa: B018


def test_registering_the_same_thing_twice_keeps_one(registry):
    registry.register("labels", {"a.b": "A"})
    registry.register("labels", {"a.b": "A"})
    assert len(registry.get("labels")) == 1


def test_every_app_offers_its_personal_data_and_audit_labels():
    sections = {hook.name for hook in hooks.get(hooks.PERSONAL_DATA)}
    assert {"profile", "memberships", "compute", "projects", "alliance", "talent"} <= sections
    apps_with_labels = {hook.app for hook in hooks.get(hooks.AUDIT_LABELS)}
    assert apps_with_labels == {"accounts", "compute", "projects", "alliance", "talent"}
