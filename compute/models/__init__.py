"""The compute service's models, one module per part of the domain (Django finds them all here)."""

# ruff: noqa: F401

# Cluster identities and SSH keys (compute/identities/).
from compute.identities.models import (
    ClusterGroup,
    ClusterIdentity,
    IdCounter,
    IdentityStatus,
    LockReason,
    SshKey,
    UsernameConflict,
)

# Jobs from the browser: the template catalogue and what the portal submitted (compute/jobs/).
from compute.jobs.models import (
    JobKind,
    JobTemplate,
    JobTemplateQuerySet,
    Submission,
    SubmissionQuerySet,
    TemplateStatus,
)
from compute.models.allocations import Allocation, AllocationMember, AllocationQuerySet, AllocationStatus
from compute.models.partitions import (
    CLUSTER_USERNAME_RE,
    MINUTES_PER_HOUR,
    Partition,
    Unit,
    validate_cluster_username,
)
from compute.models.reminders import EndReminder
from compute.models.requests import (
    QuotaRequest,
    QuotaRequestMember,
    QuotaRequestQuerySet,
    RequestKind,
    RequestStatus,
)
from compute.models.usage import DailyUsage, Job, MonthlyUsage, ReconcileRun

# The vouchers' models live in their own module; importing them here registers them with the app.
from compute.vouchers.models import (  # noqa: E402, F401
    EntryKind,
    Issuer,
    LedgerEntry,
    Settlement,
    Voucher,
    VoucherApplication,
    VoucherApplicationStatus,
    VoucherScheme,
    VoucherSource,
)
