"""The training platform's staff pages whose bodies are kept (core/pagecache.py), per state of what they show,
minute, language and query.

``MANAGE``: the management of cohorts (talent:manage), the same for every operator and, without the edit
links, for every supervisor. ``ROSTER``: a cohort's roster (talent:roster), kept per cohort and audience: the
operators (who run every cohort and revoke certificates), the people who run it without revoking (its
instructors) and those who only read it (supervisors, without any form).

A save or deletion of what a page shows starts a new generation (followed in talent/hooks.py). No talent
service writes what they show in bulk: attendance, scores, waitlist offers and completion save row by row;
the one bulk update (a deleted learner's name on their certificates, talent/privacy.py) is on neither page."""

from core import pagecache

MANAGE = pagecache.Generation("talent-manage")
ROSTER = pagecache.Generation("talent-roster")
# A learner's own "My learning" page and the API's list of their enrolments, kept for them alone (with the
# person's generation): their enrolments, waitlist places, attendance, sessions, certificates, pool consent.
LEARNER = pagecache.Generation("talent-learner")

# What a roster shows of a person: a change of either is on the next roster.
ROSTER_PERSON_FIELDS = frozenset({"name", "email"})


def forget_roster_person(sender=None, update_fields=None, **kwargs) -> None:
    """``post_save`` of a user: rosters show people's names and addresses, so a change of them starts a new
    generation; saves of nothing a roster shows (the sign-in time at every sign-in) do not."""
    if update_fields is None or ROSTER_PERSON_FIELDS & set(update_fields):
        ROSTER.forget()


# A course's page and a cohort's page (talent:course_detail, talent:cohort_detail), kept for each person alone
# (with the person's generation: whether and how they may enrol is theirs) and for every visitor alike: the
# course and its programme, the cohorts, sessions and instructors, the seats left and the waitlist (every
# enrolment and organisation's seats), and what the audience rules read of organisations (kind, verification)
# and of alliance memberships. The enrolment window opens and closes with time: the minute in the key.
COURSE = pagecache.Generation("talent-course")


def course_page_key(request) -> str:
    """The key of a course's or cohort's page: the person's own, or the one every visitor shares."""
    if request.user.is_authenticated:
        return COURSE.personal_body_key(request)
    return COURSE.body_key(request)


def forget_course_person(sender=None, created=False, update_fields=None, **kwargs) -> None:
    """``post_save`` of a user: the pages show instructors' names (or addresses), and a person's address decides
    whether they are on a cohort's invitation list; saves of neither (the sign-in time) and new accounts (on no
    page yet) change no page."""
    if created:
        return
    if update_fields is None or ROSTER_PERSON_FIELDS & set(update_fields):
        COURSE.forget()
