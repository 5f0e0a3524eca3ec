"""What the compute service offers the rest of the portal (see core/hooks.py for what each hook means)."""

from django.contrib.contenttypes.models import ContentType
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.utils.translation import gettext_lazy as _

from accounts.models import Membership, Organisation, User
from compute import demo, kept, metrics, privacy, readiness, reports, sweepers
from compute.backends import forget_cluster_names
from compute.identities import keys as identity_keys
from compute.identities import privacy as identity_privacy
from compute.identities import services as identity_services
from compute.identities import sweepers as identity_sweepers
from compute.identities.models import ClusterIdentity, SshKey
from compute.jobs.models import JobTemplate, Submission
from compute.models import (
    Allocation,
    AllocationMember,
    LedgerEntry,
    Partition,
    QuotaRequest,
    QuotaRequestMember,
    Settlement,
    Voucher,
    VoucherApplication,
    VoucherScheme,
)
from compute.services import members
from compute.vouchers.services import applications as voucher_applications
from core import hooks, pagecache, signals
from core import reports as core_reports
from core.models import AuditEvent
from projects.models import Project, ProjectBenefit

hooks.register(
    hooks.AUDIT_LABELS,
    {
        "quota_request.create": _("Quota request drafted"),
        "quota_request.update": _("Quota request edited"),
        "quota_request.submit": _("Quota request submitted"),
        "quota_request.withdraw": _("Quota request withdrawn"),
        "quota_request.approve": _("Quota request approved"),
        "quota_request.reject": _("Quota request rejected"),
        "quota_request.request_changes": _("Changes requested"),
        "allocation.create": _("Allocation created"),
        "allocation.change": _("Allocation changed"),
        "allocation.provisioning": _("Provisioning started"),
        "allocation.activate": _("Allocation active on the cluster"),
        "allocation.cluster_sync": _("Cluster updated"),
        "allocation.active": _("Allocation resumed"),
        "allocation.suspended": _("Allocation suspended"),
        "allocation.expired": _("Allocation expired"),
        "allocation.closed": _("Allocation closed"),
        "allocation.exhausted": _("Quota used up"),
        "allocation.reconcile_repair": _("Drift repaired"),
        "allocation.retry_sync": _("Cluster update retried"),
        "allocation.open": _("Allocation opened on its start date"),
        "allocation.usage_reset": _("Cluster usage counter reset for billing units"),
        "allocation.end_reminder": _("End reminder sent"),
        "allocation.remove_cluster_user": _("Cluster user removed"),
        "allocation.add_cluster_user": _("Cluster user added"),
        "allocation.cap_cluster_user": _("Cluster user capped"),
        "allocation.uncap_cluster_user": _("Cluster user's cap lifted"),
        "allocation.skip_cluster_user": _("Cluster user named on a request not added"),
        "partition.update": _("Partition changed"),
        "reconcile.run": _("Cluster reconciled"),
        "partition.create": _("Partition created"),
        "voucher.grant": _("Compute voucher granted"),
        "voucher.redeem": _("Compute voucher redeemed"),
        "voucher.expire": _("Compute voucher expired"),
        "voucher.reverse": _("Compute voucher taken back"),
        "settlement.create": _("Monthly usage settled"),
        "voucher_scheme.create": _("Voucher scheme created"),
        "voucher_scheme.update": _("Voucher scheme changed"),
        "voucher_application.submit": _("Voucher application submitted"),
        "voucher_application.approve": _("Voucher application approved"),
        "voucher_application.reject": _("Voucher application rejected"),
        "voucher_application.withdraw": _("Voucher application withdrawn"),
    },
)

hooks.register(hooks.PERSONAL_DATA, privacy.personal_data, name="compute")

# A deleted person keeps no cluster access; nor does one who left an organisation (its allocations) or whose
# account was deactivated (every allocation).
signals.account_deleting.connect(privacy.remove_cluster_access, dispatch_uid="compute.remove_cluster_access")
signals.member_left.connect(members.on_member_left, dispatch_uid="compute.member_left_cluster_access")
post_save.connect(members.on_user_saved, sender=User, dispatch_uid="compute.deactivated_cluster_access")
# An accepted incubation application brings its programme's compute voucher.
signals.project_accepted.connect(
    voucher_applications.grant_incubation_voucher, dispatch_uid="compute.grant_incubation_voucher"
)

hooks.register(hooks.STAFF_MENU, "compute/partials/staff_menu.html")
hooks.register(hooks.API_URLS, "compute.api_urls")
hooks.register(hooks.DEMO_DATA, demo.seed, order=10)
hooks.register(hooks.OVERSIGHT_REPORTS, reports.REPORTS, order=10)
core_reports.DATA.follow(*reports.READS)
# The operators' allocation and request lists, kept per state of what they show (compute/kept.py).
kept.ALLOCATIONS.follow(Allocation, AllocationMember, Organisation, Partition)
kept.REQUESTS.follow(QuotaRequest, QuotaRequestMember, Organisation, Partition)
# Whose identities a manager sees follows the memberships of the organisations they manage.
kept.IDENTITIES.follow(ClusterIdentity, SshKey, Membership)
kept.TEMPLATES.follow(JobTemplate, Partition)
# The portal's record of a job, as the job page finds it (compute/jobs/queue.py: find_job).
kept.JOB_RECORDS.follow(Submission, JobTemplate)
for _signal, _verb in ((post_save, "saved"), (post_delete, "deleted")):
    _signal.connect(forget_cluster_names, sender=Partition, dispatch_uid=f"compute.cluster_names.{_verb}")
kept.VOUCHERS.follow(
    VoucherApplication, VoucherScheme, Voucher, LedgerEntry, Settlement, Organisation, Project, ProjectBenefit
)
m2m_changed.connect(
    kept.TEMPLATES.changed, sender=JobTemplate.partitions.through, dispatch_uid="compute.kept.templates"
)
kept.REVIEW.follow(QuotaRequest, QuotaRequestMember, Organisation, Partition, Allocation, Project)
hooks.register(hooks.OVERVIEW_FIGURES, reports.transparency_figures)
hooks.register(hooks.READINESS_CHECKS, readiness.cluster_checks)
hooks.register(hooks.DEMO_NOTICES, readiness.fake_cluster_notice)
hooks.register(hooks.METRICS, metrics.provisioning_lag)
hooks.register(hooks.METRICS, metrics.waiting_allocations)
hooks.register(hooks.STUCK_WORK, sweepers.stuck_allocations)

# Cluster access (compute/identities/): the SSH key changes in the audit trail, "My cluster access" in the menu.
hooks.register(hooks.AUDIT_LABELS, identity_keys.AUDIT_LABELS)
# Identities (compute/identities/services.py): labels, export, locking on deletion and deactivation, stuck
# publishing.
hooks.register(hooks.AUDIT_LABELS, identity_services.AUDIT_LABELS)
hooks.register(hooks.PERSONAL_DATA, identity_privacy.personal_data, name="cluster_identity")
hooks.register(hooks.STUCK_WORK, identity_sweepers.stuck_identities)
signals.account_deleting.connect(
    identity_services.on_account_deleting, dispatch_uid="compute.identities.account_deleting"
)
post_save.connect(
    identity_services.on_user_saved, sender=User, dispatch_uid="compute.identities.deactivated_locks"
)
hooks.register(hooks.USER_MENU, "compute/partials/user_menu.html")

# The algorithm catalogue (compute/jobs/catalogue.py): job template changes in the audit trail.
from compute.jobs import catalogue as job_catalogue  # noqa: E402

hooks.register(hooks.AUDIT_LABELS, job_catalogue.AUDIT_LABELS)

# Jobs from the browser (compute/jobs/services.py): submissions and cancellations in the audit trail.
from compute.jobs import services as job_services  # noqa: E402

hooks.register(hooks.AUDIT_LABELS, job_services.AUDIT_LABELS)

# What a person may see of the queue follows from their cluster identity and the allocations they use: a
# change of either drops the pages kept for them (compute/jobs/queue.py: shown).


def _forget_person(sender, instance, **kwargs):
    pagecache.forget_person(instance.user_id)


for _model in (ClusterIdentity, AllocationMember):
    for _signal, _verb in ((post_save, "saved"), (post_delete, "deleted")):
        _signal.connect(
            _forget_person, sender=_model, dispatch_uid=f"compute.forget_person.{_model.__name__}.{_verb}"
        )

# An allocation's page and people page (compute/kept.py: ALLOCATION_PAGES): its change requests, the members
# of its organisation who may be given access, and its audit trail.
kept.ALLOCATION_PAGES.follow(QuotaRequest, Membership)


def _forget_allocation_pages(sender, instance, **kwargs):
    if instance.target_type_id == ContentType.objects.get_for_model(Allocation).pk:
        kept.ALLOCATION_PAGES.changed()


post_save.connect(_forget_allocation_pages, sender=AuditEvent, dispatch_uid="compute.kept.allocation_pages")
