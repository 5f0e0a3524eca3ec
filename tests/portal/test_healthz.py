import pytest
from django.core.cache import cache

from accounts import services
from portal.celery import app as celery_app
from tests.accounts.factories import make_organisation

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok"}}


def test_healthz_is_503_when_the_broker_is_unreachable(client, monkeypatch):
    # A port where nothing listens: the broker check must fail fast and say so.
    monkeypatch.setattr(celery_app.conf, "broker_url", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(celery_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["broker"].startswith("error")


def test_home_page_counts_verified_organisations(client, user, operator):
    cache.clear()
    org = make_organisation(user)
    make_organisation(user)  # not verified: not counted
    services.submit_organisation_for_verification(org, by=user)
    services.verify_organisation(org, by=operator)
    response = client.get("/")
    assert response.context["stats"] == {"organisations": 1, "enterprises": 1, "universities_institutes": 0}
    cache.clear()


def test_the_home_pages_figures_are_counted_by_a_task_after_a_change_never_by_a_visitor(
    client, user, operator, django_capture_on_commit_callbacks, django_assert_num_queries
):
    cache.clear()
    org = make_organisation(user)
    assert client.get("/").context["stats"]["organisations"] == 0  # an empty cache: the first visitor counts
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_organisation_for_verification(org, by=user)
        services.verify_organisation(org, by=operator)
    # The task the save scheduled counted after the commit: the next visitor counts nothing and sees it.
    with django_assert_num_queries(0):
        response = client.get("/")
    assert response.context["stats"]["organisations"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        org.delete()
    with django_assert_num_queries(0):
        assert client.get("/").context["stats"]["organisations"] == 0
    cache.clear()


def test_a_broker_answer_is_kept_for_a_second_per_broker_address(client, monkeypatch):
    from portal import views

    opened = []
    real = celery_app.connection_for_write

    def counting(*args, **kwargs):
        opened.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(views, "_broker_answers", {})
    monkeypatch.setattr(celery_app, "connection_for_write", counting)
    clock = [1000.0]
    monkeypatch.setattr(views.time, "monotonic", lambda: clock[0])
    for _ in range(3):
        assert client.get("/healthz").json()["checks"]["broker"] == "ok"
    assert len(opened) == 1  # a flood of probes opens one connection
    clock[0] += views.BROKER_CHECK_SECONDS
    assert client.get("/healthz").status_code == 200
    assert len(opened) == 2  # a second later the broker is asked again
    # Another broker address is never answered from the first one's answer.
    monkeypatch.setattr(celery_app.conf, "broker_write_url", "redis://127.0.0.1:1/0")
    assert client.get("/healthz").status_code == 503
    assert len(opened) == 3
