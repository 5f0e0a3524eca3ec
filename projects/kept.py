"""The lists of the incubation platform whose bodies are kept (core/pagecache.py): the same for every
staff member who sees all organisations (and, where operators have forms supervisors do not, for each of the
two), per state of what they show, minute, language and query.

A save or deletion of what a list shows starts a new generation (followed in projects/hooks.py). Nothing in
the platform's services writes these lists' rows in bulk; the demo data, which moves a call's dates with an
``update``, starts one of the applications' list itself (projects/demo.py)."""

from core import pagecache

# The submitted applications (with the calls of the filter and the rankings' links); also each applicant's own
# list (with the person's generation) and the API's list (its attachments and, for staff, reviewers).
APPLICATIONS = pagecache.Generation("projects-applications")
# A call's applications ranked by their reviews.
RANKING = pagecache.Generation("projects-ranking")
# Every incubated project (only staff who see all; members' lists are their own and never kept).
PROJECTS = pagecache.Generation("projects-projects")
