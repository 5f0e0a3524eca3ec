"""Demo data for the one-command portal: organisations of each type, an operator, a supervisor, a student.

Idempotent: running it again changes nothing. Everything is created through the services, so the audit
trail and the states are what real use would produce.
"""

from importlib import import_module

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from accounts.models import EnterpriseSize, Organisation, OrganisationKind, Sector, User
from accounts.roles import STAFF_ROLES, SiteRole

DEMO_PASSWORD = "demo-portal-2026"
# A fixed TOTP secret for the demo staff accounts (base32), so a demo user can add it to an authenticator app.
DEMO_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

PEOPLE = [
    ("operator@demo.aicc.cn", "Wang Fang 王芳", {SiteRole.OPERATOR}),
    ("supervisor@demo.aicc.cn", "Li Qiang 李强", {SiteRole.SUPERVISOR}),
    ("owner@demo.aicc.cn", "Zhang Wei 张伟", set()),
    ("researcher@demo.aicc.cn", "Chen Jing 陈静", set()),
    ("student@demo.aicc.cn", "Liu Yang 刘洋", set()),
    ("reviewer@demo.aicc.cn", "Zhou Min 周敏", {SiteRole.REVIEWER, SiteRole.MENTOR}),
    ("instructor@demo.aicc.cn", "Sun Li 孙丽", {SiteRole.INSTRUCTOR}),
]

# Each platform seeds its own demo data with ``<app>.demo.seed(people)`` (idempotent, through its services),
# in this order: later platforms may use what earlier ones made.
PLATFORM_SEEDERS = ("alliance", "projects", "talent")

ORGANISATIONS = [
    # (owner email, fields, verification: None | "pending" | "verified")
    (
        "owner@demo.aicc.cn",
        dict(
            name_zh="星河智能科技有限公司",
            name_en="Xinghe Intelligent Technology Co., Ltd.",
            kind=OrganisationKind.ENTERPRISE,
            size=EnterpriseSize.SMALL,
            uscc="91350100M000100Y43",
            sector=Sector.INFORMATION_TECHNOLOGY,
            city="福州",
            website="https://xinghe.example.cn",
            description="A small enterprise building medical imaging models.",
        ),
        "verified",
    ),
    (
        "owner@demo.aicc.cn",
        dict(
            name_zh="城脉交通数据有限公司",
            name_en="Chengmai Transport Data Co., Ltd.",
            kind=OrganisationKind.ENTERPRISE,
            uscc="91110000802100433B",
            sector=Sector.TRANSPORT,
            city="北京",
            description="Traffic-flow forecasting for the urban brain.",
        ),
        "pending",
    ),
    (
        "researcher@demo.aicc.cn",
        dict(
            name_zh="滨海大学",
            name_en="Binhai University",
            kind=OrganisationKind.UNIVERSITY,
            sector=Sector.EDUCATION,
            city="滨海",
            description="School of Artificial Intelligence.",
        ),
        "verified",
    ),
    (
        "researcher@demo.aicc.cn",
        dict(
            name_zh="市人工智能研究院",
            name_en="Municipal Institute of Artificial Intelligence",
            kind=OrganisationKind.RESEARCH_INSTITUTE,
            sector=Sector.RESEARCH,
            city="滨海",
        ),
        None,
    ),
    (
        "supervisor@demo.aicc.cn",
        dict(
            name_zh="市数据管理局",
            name_en="Municipal Data Administration",
            kind=OrganisationKind.GOVERNMENT,
            sector=Sector.PUBLIC_SERVICES,
            city="滨海",
        ),
        "verified",
    ),
]


class Command(BaseCommand):
    help = "Load the demo data (idempotent) and print the demo logins."

    def add_arguments(self, parser):
        parser.add_argument("--quiet", action="store_true", help="Do not print the logins.")

    def handle(self, *args, quiet=False, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo only runs with DEBUG on: it creates accounts with a published password."
            )
        with transaction.atomic():
            people = {email: self._person(email, name, roles) for email, name, roles in PEOPLE}
            operator = people["operator@demo.aicc.cn"]
            for owner_email, fields, verification in ORGANISATIONS:
                owner = people[owner_email]
                organisation = Organisation.objects.filter(name_zh=fields["name_zh"]).first()
                if organisation is None:
                    organisation = services.create_organisation(by=owner, **fields)
                    if verification:
                        services.submit_organisation_for_verification(organisation, by=owner)
                    if verification == "verified":
                        services.verify_organisation(organisation, by=operator)
            university = Organisation.objects.get(name_zh="滨海大学")
            student = people["student@demo.aicc.cn"]
            if not university.memberships.filter(user=student).exists():
                invitation = services.invite_member(
                    university, by=people["researcher@demo.aicc.cn"], email=student.email, role="member"
                )
                services.accept_invitation(invitation, user=student)
            self._compute(people)
            self._vouchers(people)
            for app in PLATFORM_SEEDERS:
                import_module(f"{app}.demo").seed(people)
        if not quiet:
            self._print_logins()

    def _compute(self, people):
        """Partitions, an active allocation with some usage on the fake cluster, a request to decide."""
        from datetime import timedelta
        from decimal import Decimal

        from django.utils import timezone

        from compute import services as compute
        from compute import usage
        from compute.backends import get_backend
        from compute.backends.base import JobRecord
        from compute.models import Partition, QuotaRequest

        npu, _ = Partition.objects.get_or_create(
            slug="npu",
            defaults=dict(
                name_en="AI accelerator partition",
                name_zh="AI 加速卡分区",
                description="Nodes with 8 AI accelerator cards each, for training and inference.",
                cluster="aicc",
                slurm_partition="npu",
                tres="gres/npu",
                unit="card_hour",
                capacity_per_month=Decimal("500000"),
                price_per_unit=Decimal("8.50"),
                overcommit_ratio=Decimal("1.20"),
                min_request=Decimal("10"),
                max_request=Decimal("50000"),
            ),
        )
        Partition.objects.get_or_create(
            slug="cpu",
            defaults=dict(
                name_en="HPC CPU partition",
                name_zh="高性能计算 CPU 分区",
                description="General-purpose CPU nodes for simulation and data processing.",
                cluster="aicc",
                slurm_partition="cpu",
                tres="cpu",
                unit="core_hour",
                capacity_per_month=Decimal("2000000"),
                price_per_unit=Decimal("0.12"),
                min_request=Decimal("100"),
                max_request=Decimal("500000"),
            ),
        )
        if QuotaRequest.objects.exists():
            return
        owner, operator = people["owner@demo.aicc.cn"], people["operator@demo.aicc.cn"]
        xinghe = Organisation.objects.get(name_zh="星河智能科技有限公司")
        today = timezone.localdate()
        request = compute.create_quota_request(
            xinghe,
            by=owner,
            partition=npu,
            amount=Decimal("2000"),
            start_date=today,
            end_date=today + timedelta(days=90),
            purpose="Train a lung-nodule detection model",
            justification="3D CT segmentation model, 8 cards for about ten days.",
            members=[compute.MemberAccess(owner, "zhangwei")],
        )
        compute.submit_quota_request(request, by=owner)
        compute.approve_quota_request(request, by=operator, granted_amount=Decimal("1500"))
        backend = get_backend()
        allocation = compute.sync_allocation(request.created_allocation.pk, backend=backend)
        now = timezone.now()
        # Twelve jobs over the last days, and six a month earlier (last month is settled below).
        for i, days_ago in enumerate([*range(11, -1, -1), *range(40, 34, -1)]):
            start = now - timedelta(days=days_ago, hours=3)
            backend.add_job(
                JobRecord(
                    job_id=str(1000 + i),
                    cluster=backend.cluster_name,
                    account=allocation.account_name,
                    user="zhangwei",
                    partition="npu",
                    state="COMPLETED",
                    submit=start,
                    start=start,
                    end=start + timedelta(hours=2 + i % 4),
                    elapsed_seconds=(2 + i % 4) * 3600,
                    tres={"cpu": 32, "gres/npu": 8},
                )
            )
        usage.ingest_usage(backend=backend, since=now - timedelta(days=45))
        university = Organisation.objects.get(name_zh="滨海大学")
        researcher = people["researcher@demo.aicc.cn"]
        pending = compute.create_quota_request(
            university,
            by=researcher,
            partition=npu,
            amount=Decimal("800"),
            start_date=today + timedelta(days=1),
            end_date=today + timedelta(days=60),
            purpose="Course projects on large-model fine-tuning",
            justification="40 students, one card each for 20 hours.",
            members=[compute.MemberAccess(researcher, "chenjing")],
        )
        compute.submit_quota_request(pending, by=researcher)

    def _vouchers(self, people):
        """A city scheme for small enterprises, a district one, the incubation one; a voucher for Xinghe with
        last month settled against it, and an application waiting for the operators."""
        from datetime import date, timedelta
        from decimal import Decimal

        from django.utils import timezone

        from compute import vouchers
        from compute.models import Issuer, VoucherScheme

        if VoucherScheme.objects.exists():
            return
        operator, owner = people["operator@demo.aicc.cn"], people["owner@demo.aicc.cn"]
        today = timezone.localdate()
        year_start, year_end = date(today.year, 1, 1), date(today.year + 1, 12, 31)
        common = dict(valid_from=year_start, valid_until=year_end, total_budget=Decimal("5000000"))
        city = VoucherScheme.objects.create(
            name_zh="滨海市小微企业算力券",
            name_en="Binhai city compute vouchers for small enterprises",
            issuer=Issuer.CITY,
            issuer_name="滨海市数据管理局",
            subsidy_ratio=Decimal("0.300"),
            cap_per_organisation=Decimal("200000"),
            small_enterprises_only=True,
            **common,
        )
        district = VoucherScheme.objects.create(
            name_zh="滨海新区算力券",
            name_en="Binhai New Area compute vouchers",
            issuer=Issuer.DISTRICT,
            issuer_name="滨海新区经济发展局",
            subsidy_ratio=Decimal("0.200"),
            cap_per_organisation=Decimal("100000"),
            **common,
        )
        VoucherScheme.objects.create(
            name_zh="孵化项目算力券",
            name_en="Compute vouchers for incubated projects",
            issuer=Issuer.CITY,
            issuer_name="滨海市人工智能计算中心",
            subsidy_ratio=Decimal("1.000"),
            cap_per_organisation=Decimal("300000"),
            for_incubated_projects=True,
            **common,
        )
        xinghe = Organisation.objects.get(name_zh="星河智能科技有限公司")
        last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
        vouchers.grant_voucher(
            city, xinghe, amount=Decimal("50000"), by=operator, today=max(last_month, year_start)
        )
        if last_month >= year_start:
            vouchers.settle_month(last_month, today=today)
        vouchers.apply_for_voucher(
            district,
            xinghe,
            by=owner,
            amount=Decimal("30000"),
            statement="Fine-tuning the lung-nodule model on new hospital data: about 3,000 card-hours.",
        )

    def _person(self, email, name, roles):
        user = User.objects.filter(email=email).first()
        if user is None:
            user = User.objects.create_user(email=email, password=DEMO_PASSWORD, name=name)
            EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        if roles:
            services.set_site_roles(user, by=None, roles=roles)
            if (
                roles & STAFF_ROLES
                and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
            ):
                TOTP.activate(user, DEMO_TOTP_SECRET)
                RecoveryCodes.activate(user)
        return user

    def _print_logins(self):
        w = self.stdout.write
        w("")
        w(f"Demo logins (password for all: {DEMO_PASSWORD})")
        for email, name, roles in PEOPLE:
            w(f"  {email:<28} {name:<22} {', '.join(sorted(roles)) or 'member'}")
        w("")
        w("Operator and supervisor use two-factor authentication. Their TOTP secret is")
        w(f"  {DEMO_TOTP_SECRET}")
        w("(add it to an authenticator app), or print the current code with:")
        w("  .venv/bin/python manage.py demo_totp operator@demo.aicc.cn")
