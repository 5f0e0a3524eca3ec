"""The operators' lists of the compute service whose bodies are kept (core/pagecache.py): the same for every
staff member who sees all organisations, per state of what they show, minute, language and query.

A save or deletion of what a list shows starts a new generation (followed in compute/hooks.py); the usage
refresh, which writes used amounts in bulk, starts one of the allocations' and the review queue's itself
(compute/usage.py)."""

from core import pagecache

ALLOCATIONS = pagecache.Generation("compute-allocations")
REQUESTS = pagecache.Generation("compute-requests")
REVIEW = pagecache.Generation("compute-review")
IDENTITIES = pagecache.Generation("compute-identities")
TEMPLATES = pagecache.Generation("compute-job-templates")
VOUCHERS = pagecache.Generation("compute-voucher-operations")
# An allocation's own page and its people page (compute/views/allocations.py, members.py) show, besides what
# ALLOCATIONS follows (their keys hold its generation too), its change requests, its audit trail and the
# organisation's members who may be given access: a change of one of them starts a new generation of this.
ALLOCATION_PAGES = pagecache.Generation("compute-allocation-pages")
# The portal's record of one job and the allocation it ran under, as the job page finds them (compute/jobs/
# queue.py: find_job): kept per state of the submissions and templates (this) and of the allocations (above).
JOB_RECORDS = pagecache.Generation("compute-job-records", listed=False)
