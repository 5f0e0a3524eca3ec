"""Signals that carry one app's news to the others, so that nobody imports whoever listens.

Senders and receivers meet here; a receiver is connected in its app's ``hooks.py``.
"""

from django.dispatch import Signal

# An account is about to be deleted (inside the deleting transaction): each platform lets go of what it holds
# about the person, pseudonymises what it must keep and withdraws the person from what is still open.
# Arguments: ``user``, ``by``.
account_deleting = Signal()

# A person stopped being a member of an organisation (removed or left). Arguments: ``organisation``, ``user``,
# ``by``.
member_left = Signal()

# An organisation's public facts (names, kind, sector, verification) changed. Argument: ``organisation``.
organisation_changed = Signal()

# An incubation application was accepted and its project started. Arguments: ``project``, ``voucher_amount``
# (a Decimal in CNY, None when the programme grants no voucher), ``by``.
project_accepted = Signal()
