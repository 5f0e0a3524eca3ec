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
