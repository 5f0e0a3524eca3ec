"""Training: programmes group courses; a course runs as cohorts with sessions; people enrol in cohorts.

Django finds the models here; each lives in the module of its part of the domain.
"""

from talent.models.catalogue import Course, CourseQuerySet, Programme
from talent.models.certificates import (
    Certificate,
    CertificateQuerySet,
    new_certificate_code,
)
from talent.models.choices import (
    Access,
    AttendanceMethod,
    Audience,
    Category,
    CertificateStatus,
    CohortStatus,
    EnrolmentStatus,
    Level,
)
from talent.models.cohorts import (
    CHECKIN_EARLY_MINUTES,
    Cohort,
    CohortQuerySet,
    NeedNotice,
    Session,
    random_code,
)
from talent.models.enrolment import Attendance, Enrolment, EnrolmentQuerySet, LearnerRecordQuerySet, SeatPool

__all__ = [
    "CHECKIN_EARLY_MINUTES",
    "Access",
    "Attendance",
    "AttendanceMethod",
    "Audience",
    "Category",
    "Certificate",
    "CertificateQuerySet",
    "CertificateStatus",
    "Cohort",
    "CohortQuerySet",
    "CohortStatus",
    "Course",
    "CourseQuerySet",
    "Enrolment",
    "EnrolmentQuerySet",
    "EnrolmentStatus",
    "LearnerRecordQuerySet",
    "Level",
    "NeedNotice",
    "Programme",
    "SeatPool",
    "Session",
    "new_certificate_code",
    "random_code",
]
