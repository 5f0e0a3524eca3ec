"""Demo data for the one-command portal: organisations of each type, an operator, a supervisor, a student.

Idempotent: running it again changes nothing. Everything is created through the services, so the audit
trail and the states are what real use would produce.
"""

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts import services
from accounts.models import EnterpriseSize, Organisation, OrganisationKind, Sector, User
from core import hooks
from core.roles import STAFF_ROLES, SiteRole

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

# Each platform seeds its own demo data (idempotent, through its services) as a ``core.hooks.DEMO_DATA`` hook;
# the hooks' order lets later platforms use what earlier ones made.

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
            # A supervisor changes nothing, so the agency's civil servant registers it first and is made a
            # supervisor afterwards, as in real life.
            people = {
                email: self._person(email, name, roles - {SiteRole.SUPERVISOR})
                for email, name, roles in PEOPLE
            }
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
            for email, name, roles in PEOPLE:
                if SiteRole.SUPERVISOR in roles:
                    self._person(email, name, roles)
            university = Organisation.objects.get(name_zh="滨海大学")
            student = people["student@demo.aicc.cn"]
            if not university.memberships.filter(user=student).exists():
                invitation = services.invite_member(
                    university, by=people["researcher@demo.aicc.cn"], email=student.email, role="member"
                )
                services.accept_invitation(invitation, user=student)
            for seed in hooks.values(hooks.DEMO_DATA):
                seed(people)
        if not quiet:
            self._print_logins()

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
