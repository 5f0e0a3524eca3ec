"""The vocabularies of the training platform: levels, categories, audiences, access, and the statuses."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Level(models.TextChoices):
    BEGINNER = "beginner", _("Beginner")
    INTERMEDIATE = "intermediate", _("Intermediate")
    ADVANCED = "advanced", _("Advanced")


class Category(models.TextChoices):
    FOUNDATIONS = "foundations", _("AI foundations")
    MACHINE_LEARNING = "machine_learning", _("Machine learning")
    LARGE_MODELS = "large_models", _("Large models")
    COMPUTER_VISION = "computer_vision", _("Computer vision")
    HPC = "hpc", _("Computing and HPC")
    APPLICATIONS = "applications", _("Industry applications")
    OTHER = "other", _("Other")


class Audience(models.TextChoices):
    OPEN = "open", _("Everyone with an account")
    STUDENTS = "students", _("Students only")
    MEMBER_EMPLOYEES = "member_employees", _("Employees of alliance members")
    ALLOWLIST = "allowlist", _("Invited email addresses")


class Access(models.TextChoices):
    OPEN = "open", _("Open enrolment")
    APPROVAL = "approval", _("Approval by the instructor")
    CODE = "code", _("Enrolment code")


class CohortStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    FINISHED = "finished", _("Finished")
    CANCELLED = "cancelled", _("Cancelled")


class EnrolmentStatus(models.TextChoices):
    REQUESTED = "requested", _("Awaiting approval")
    WAITLISTED = "waitlisted", _("On the waitlist")
    OFFERED = "offered", _("Seat offered")
    ENROLLED = "enrolled", _("Enrolled")
    COMPLETED = "completed", _("Completed")
    FAILED = "failed", _("Not passed")
    NO_SHOW = "no_show", _("Did not attend")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DECLINED = "declined", _("Request declined")
    OFFER_EXPIRED = "offer_expired", _("Offer expired")

    @classmethod
    def holding_seat(cls) -> list[str]:
        """Statuses that occupy one of the cohort's seats."""
        return [cls.OFFERED, cls.ENROLLED, cls.COMPLETED, cls.FAILED, cls.NO_SHOW]

    @classmethod
    def active(cls) -> list[str]:
        """Statuses in which the person is still part of the cohort (one such enrolment per person)."""
        return [cls.REQUESTED, cls.WAITLISTED, *cls.holding_seat()]


class CertificateStatus(models.TextChoices):
    VALID = "valid", _("Valid")
    REVOKED = "revoked", _("Revoked")


class AttendanceMethod(models.TextChoices):
    INSTRUCTOR = "instructor", _("Marked by the instructor")
    CHECKIN = "checkin", _("Checked in with the code")
