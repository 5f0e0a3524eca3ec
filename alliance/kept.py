"""The alliance's pages whose bodies are kept (core/pagecache.py), per state of what they show, minute, language
and query.

``NEED``: a need's page (alliance:need_detail), kept for each person alone (with the person's generation):
whether they manage the need (closing it, inviting a match), may offer help (from which organisations and
solutions) and which interest they may see are theirs. It shows the need and its capabilities, the matches
(published solutions and listed members of the directory), the interest expressed, the names of organisations
and capabilities; who is a current alliance member decides the offer form. A save or deletion of any of them,
or a change of the capabilities of a need, solution or directory entry, starts a new generation (followed in
alliance/hooks.py); what follows the date (memberships ending, entries listed) shows within the minute."""

from core import pagecache

NEED = pagecache.Generation("alliance-need")

# The API's list of alliance memberships (alliance/api/membership.py), kept for staff alike and anyone else alone
# (their own organisations'): it shows memberships and their organisations' names.
MEMBERSHIPS = pagecache.Generation("alliance-memberships", listed=False)
