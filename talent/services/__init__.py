"""Use cases of the talent platform, by part of the domain: who may enrol (``eligibility``), enrolment with
capacity, waitlists and offers (``enrolment``), organisation seat pools (``pools``), bulk enrolment from a
file (``bulk``), running cohorts (``running``), certificates (``certificates``) and the catalogue
(``catalogue``).

Capacity is enforced under concurrency: every change that takes or frees a seat first locks the cohort row
(``common.lock_cohort``, ``select_for_update``), so concurrent enrolments are serialised and the seat count
read under the lock is the truth. Pages, the API, the admin and the tasks all call these functions.
"""
