"""Running a cohort: attendance (marks and check-in window), scores, completion, certificates."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from core.exceptions import Conflict, DomainError, NotAllowed
from core.models import AuditEvent
from talent.models import Attendance, Certificate, CertificateStatus, CohortStatus, EnrolmentStatus
from talent.pdf import certificate_pdf, verification_url
from talent.services.certificates import revoke_certificate
from talent.services.running import check_in, complete_cohort, mark_attendance, new_checkin_code, set_scores
from tests.accounts.factories import UserFactory, make_operator, make_supervisor
from tests.talent.factories import fill, make_cohort, make_instructor, make_live_session

pytestmark = pytest.mark.django_db
S = EnrolmentStatus


def _running_cohort(teacher, *, learners=3, sessions=2, min_score=Decimal("60")):
    cohort = make_cohort(
        instructors=[teacher], sessions=sessions, min_score=min_score, min_attendance_percent=50
    )
    enrolments = fill(cohort, learners)
    return cohort, enrolments


def _end(cohort):
    """Move the cohort into the past (its last day is today)."""
    today = timezone.localdate()
    type(cohort).objects.filter(pk=cohort.pk).update(starts_on=today - timedelta(days=3), ends_on=today)
    cohort.refresh_from_db()


def test_checkin_code_works_only_during_the_session():
    teacher = make_instructor()
    cohort, (enrolment, *_) = _running_cohort(teacher)
    session = cohort.sessions.first()
    code = session.checkin_code
    with pytest.raises(DomainError, match="opens 15 minutes"):
        check_in(session, user=enrolment.user, code=code, now=session.starts_at - timedelta(minutes=16))
    with pytest.raises(DomainError, match="ended"):
        check_in(session, user=enrolment.user, code=code, now=session.ends_at)
    with pytest.raises(DomainError, match="not right"):
        check_in(session, user=enrolment.user, code="WRONG", now=session.starts_at)
    assert not Attendance.objects.exists()
    mark = check_in(
        session, user=enrolment.user, code=code.lower(), now=session.starts_at - timedelta(minutes=15)
    )
    assert mark.present and mark.method == "checkin"
    with pytest.raises(NotAllowed):
        check_in(session, user=UserFactory(), code=code, now=session.starts_at)
    # A new code replaces the old one.
    new_checkin_code(session, by=teacher)
    session.refresh_from_db()
    assert session.checkin_code != code


def test_instructor_marks_attendance_on_the_page_and_outsiders_cannot(client):
    teacher = make_instructor()
    cohort, (a, b, c) = _running_cohort(teacher)
    session = cohort.sessions.first()
    client.force_login(teacher)
    page = client.get(reverse("talent:attendance", args=[session.pk])).content.decode()
    assert session.checkin_code in page and "<svg" in page
    response = client.post(
        reverse("talent:attendance", args=[session.pk]), {f"present-{a.pk}": "1", f"present-{b.pk}": "0"}
    )
    assert response.status_code == 302
    assert dict(Attendance.objects.values_list("enrolment_id", "present")) == {a.pk: True, b.pk: False}
    assert AuditEvent.objects.filter(action="attendance.mark").count() == 2
    other_teacher = make_instructor()
    client.force_login(other_teacher)
    assert client.get(reverse("talent:attendance", args=[session.pk])).status_code == 404
    assert client.get(reverse("talent:roster", args=[cohort.pk])).status_code == 404
    assert (
        client.post(reverse("talent:roster_scores", args=[cohort.pk]), {f"score-{a.pk}": "90"}).status_code
        == 404
    )
    client.force_login(a.user)
    assert client.get(reverse("talent:roster", args=[cohort.pk])).status_code == 404
    with pytest.raises(NotAllowed):
        mark_attendance(session, by=other_teacher, present={a.pk: True})
    with pytest.raises(DomainError):
        mark_attendance(session, by=teacher, present={999999: True})


def test_scores_bad_input_changes_nothing(client):
    teacher = make_instructor()
    cohort, (a, b, _c) = _running_cohort(teacher)
    client.force_login(teacher)
    for bad in ("abc", "101", "-1", "NaN", "1.234"):
        response = client.post(
            reverse("talent:roster_scores", args=[cohort.pk]),
            {f"score-{a.pk}": "80", f"score-{b.pk}": bad},
            follow=True,
        )
        assert "scores" in response.content.decode().lower()
        a.refresh_from_db()
        assert a.score is None
    client.post(
        reverse("talent:roster_scores", args=[cohort.pk]), {f"score-{a.pk}": "80", f"score-{b.pk}": ""}
    )
    a.refresh_from_db()
    assert a.score == Decimal("80")
    outsider = fill(make_cohort(), 1)[0]
    with pytest.raises(DomainError):
        set_scores(cohort, by=teacher, scores={outsider.pk: "50"})


def test_completion_applies_the_rule_issues_certificates_and_finishes(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    teacher = make_instructor()
    cohort, (passes, low_score, absent) = _running_cohort(teacher)
    waiting = fill(cohort, 0)
    first, second = cohort.sessions.all()
    mark_attendance(first, by=teacher, present={passes.pk: True, low_score.pk: True, absent.pk: False})
    mark_attendance(second, by=teacher, present={passes.pk: True, low_score.pk: True})
    set_scores(cohort, by=teacher, scores={passes.pk: "75", low_score.pk: "40"})
    with pytest.raises(Conflict, match="last day"):
        complete_cohort(cohort, by=teacher)
    _end(cohort)
    with pytest.raises(NotAllowed):
        complete_cohort(cohort, by=make_instructor())
    with django_capture_on_commit_callbacks(execute=True):
        counts = complete_cohort(cohort, by=teacher)
    assert counts == {"completed": 1, "failed": 1, "no_show": 1}
    cohort.refresh_from_db()
    assert cohort.status == CohortStatus.FINISHED
    statuses = {e.pk: e.status for e in cohort.enrolments.all()}
    assert statuses == {passes.pk: S.COMPLETED, low_score.pk: S.FAILED, absent.pk: S.NO_SHOW}
    certificate = Certificate.objects.get()
    assert certificate.enrolment_id == passes.pk and certificate.holder_name == passes.user.name
    assert any(certificate.code in m.body for m in mailoutbox if passes.user.email in m.to)
    with pytest.raises(Conflict):
        complete_cohort(cohort, by=teacher)
    assert waiting == []


def _certificate(teacher=None):
    teacher = teacher or make_instructor()
    cohort, (enrolment,) = _running_cohort(teacher, learners=1, sessions=1, min_score=None)
    mark_attendance(cohort.sessions.first(), by=teacher, present={enrolment.pk: True})
    _end(cohort)
    complete_cohort(cohort, by=teacher)
    return Certificate.objects.get(enrolment=enrolment)


def test_verification_page_pdf_and_revocation(client, mfa, settings):
    settings.SITE_URL = "https://portal.example.cn"
    certificate = _certificate()
    url = reverse("certificate_verify", args=[certificate.code])
    assert url == f"/certificates/{certificate.code}/"
    page = client.get(url).content.decode()
    assert "Valid." in page and certificate.holder_name in page and certificate.course_title_en in page
    assert certificate.enrolment.user.email not in page  # nothing personal beyond the holder's name
    assert client.get(reverse("certificate_verify", args=["AICC-NOPE"])).status_code == 404
    assert client.get("/certificates/" + "X" * 300 + "/").status_code == 404
    # The PDF: for the holder, with the QR code to the verification page.
    assert client.get(reverse("certificate_pdf", args=[certificate.code])).status_code == 404
    client.force_login(certificate.enrolment.user)
    response = client.get(reverse("certificate_pdf", args=[certificate.code]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert verification_url(certificate) == f"https://portal.example.cn/certificates/{certificate.code}/"
    # Revocation needs an operator and a reason; the page then says revoked.
    with pytest.raises(NotAllowed):
        revoke_certificate(certificate, by=make_instructor(), reason="x")
    operator = mfa(make_operator())
    client.force_login(operator)
    response = client.post(
        reverse("talent:certificate_revoke", args=[certificate.code]), {"reason": ""}, follow=True
    )
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.VALID
    client.post(
        reverse("talent:certificate_revoke", args=[certificate.code]), {"reason": "Plagiarised final project"}
    )
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.REVOKED
    client.logout()
    page = client.get(url).content.decode()
    assert "Revoked." in page and "Plagiarised final project" in page and "Valid." not in page
    client.force_login(mfa(make_supervisor()))
    assert (
        client.post(
            reverse("talent:certificate_revoke", args=[certificate.code]), {"reason": "x"}
        ).status_code
        == 403
    )


def test_pdf_has_the_qr_and_chinese_font():
    certificate = _certificate()
    data = certificate_pdf(certificate, holder="张三")
    assert b"STSong-Light" in data and len(data) > 1500


def test_learner_checks_in_on_the_page(client):
    teacher = make_instructor()
    cohort = make_cohort(instructors=[teacher])
    session = make_live_session(cohort)
    (enrolment,) = fill(cohort, 1)
    client.force_login(enrolment.user)
    page = client.get(reverse("talent:session_checkin", args=[session.pk]) + "?code=ABC123").content.decode()
    assert 'value="ABC123"' in page
    response = client.post(reverse("talent:session_checkin", args=[session.pk]), {"code": "XXXXXX"})
    assert "not right" in response.content.decode()
    response = client.post(reverse("talent:session_checkin", args=[session.pk]), {"code": "abc123"})
    assert response.status_code == 302
    assert Attendance.objects.get().present
    client.force_login(UserFactory())
    assert client.get(reverse("talent:session_checkin", args=[session.pk])).status_code == 404


def test_teaching_and_roster_pages_render(client, mfa):
    teacher = make_instructor()
    cohort, (a, *_rest) = _running_cohort(teacher)
    client.force_login(teacher)
    assert cohort.name in client.get(reverse("talent:teaching")).content.decode()
    page = client.get(reverse("talent:roster", args=[cohort.pk])).content.decode()
    assert a.user.email in page and "Save scores" in page
    client.force_login(mfa(make_supervisor()))
    page = client.get(reverse("talent:roster", args=[cohort.pk])).content.decode()
    assert a.user.email in page and "Save scores" not in page
    client.force_login(UserFactory())
    assert client.get(reverse("talent:teaching")).status_code == 403
