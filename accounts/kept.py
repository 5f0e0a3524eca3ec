"""The organisation lists whose bodies are kept (core/pagecache.py): the staff's list of every organisation (the
same for all staff who see all), each member's own list, and each person's page of the API's list, per state of
the organisations, minute, language and query; a person's own also while their memberships are unchanged.

A save or deletion of an organisation starts a new generation (followed in accounts/hooks.py)."""

from core import pagecache

ORGANISATIONS = pagecache.Generation("accounts-organisations")
