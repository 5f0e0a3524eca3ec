"""Incubation: programmes and their calls, applications and their review, incubated projects.

Statuses are TextChoices backed by CheckConstraints; every pipeline is a ``core.states.StatusMachine`` whose
named moves check the move (and, for applications, who makes it), set related fields and do not save;
``projects.services`` saves and audits with ``core.states.save_transition`` and mails.

Django finds the models here, so this module imports every one of them (and the names other modules use).
"""

from projects.models.applications import (
    APPLICANT,
    APPLICANT_STATUS_LABELS,
    APPLICANT_STEPS,
    DECISION_ACTIONS,
    DECISIONS,
    MOVES,
    OPEN_STATUSES,
    OPERATOR,
    Application,
    ApplicationQuerySet,
    ApplicationRevision,
    ApplicationStatus,
    Attachment,
    CoApplicant,
)
from projects.models.fields import attachment_path, validate_pdf
from projects.models.incubation import (
    INCUBATING_STATUSES,
    BenefitKind,
    Milestone,
    MilestoneStatus,
    ProgressReport,
    Project,
    ProjectBenefit,
    ProjectQuerySet,
    ProjectStatus,
    is_mentor_candidate,
)
from projects.models.programmes import REVIEW_CRITERIA, Call, CallQuerySet, Criterion, Programme, Theme
from projects.models.review import (
    SCORE_MAX,
    SCORE_MIN,
    AssignmentStatus,
    CriterionScore,
    Recommendation,
    ReviewAssignment,
    ReviewAssignmentQuerySet,
    weighted_score,
)

__all__ = [
    "APPLICANT",
    "APPLICANT_STATUS_LABELS",
    "APPLICANT_STEPS",
    "DECISIONS",
    "DECISION_ACTIONS",
    "INCUBATING_STATUSES",
    "MOVES",
    "OPEN_STATUSES",
    "OPERATOR",
    "REVIEW_CRITERIA",
    "SCORE_MAX",
    "SCORE_MIN",
    "Application",
    "ApplicationQuerySet",
    "ApplicationRevision",
    "ApplicationStatus",
    "AssignmentStatus",
    "Attachment",
    "BenefitKind",
    "Call",
    "CallQuerySet",
    "CoApplicant",
    "Criterion",
    "CriterionScore",
    "Milestone",
    "MilestoneStatus",
    "ProgressReport",
    "Programme",
    "Project",
    "ProjectBenefit",
    "ProjectQuerySet",
    "ProjectStatus",
    "Recommendation",
    "ReviewAssignment",
    "ReviewAssignmentQuerySet",
    "Theme",
    "attachment_path",
    "is_mentor_candidate",
    "validate_pdf",
    "weighted_score",
]
