"""The organisation lists whose bodies are kept (core/pagecache.py): the staff's list of every organisation (the
same for all staff who see all), each member's own list, and each person's page of the API's list, per state of
the organisations, minute, language and query; a person's own also while their memberships are unchanged.

A save or deletion of an organisation starts a new generation (followed in accounts/hooks.py)."""

from core import pagecache

ORGANISATIONS = pagecache.Generation("accounts-organisations")

# Bulk onboarding (accounts/onboarding_views.py), kept per organisation and audience (its managers, who have the
# forms, apart from the staff who only look; on the domains page operators apart too): ``ONBOARDING`` for the
# invitation lists and a list's rows (never a list still being sent: its progress is live), ``DOMAINS`` for the
# domains and requests to join. The batches, rows, invitations and organisations, or the domains and requests,
# start a new generation when saved or deleted (accounts/hooks.py), and so does a change of the names shown.
# The services' bulk writes (a preview's rows, a confirmation's) start one themselves (accounts/onboarding.py).
ONBOARDING = pagecache.Generation("accounts-onboarding")
DOMAINS = pagecache.Generation("accounts-domains")

# What the pages show of a person (who made a list, who asks to join): a change of either is on the next page.
PERSON_FIELDS = frozenset({"name", "email"})


def forget_onboarding_person(sender=None, update_fields=None, **kwargs) -> None:
    """``post_save`` or ``post_delete`` of a user: saves of nothing the pages show (the sign-in time at every
    sign-in) start no new generation."""
    if update_fields is None or PERSON_FIELDS & set(update_fields):
        ONBOARDING.forget()
        DOMAINS.forget()
