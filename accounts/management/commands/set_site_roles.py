from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import User
from core.exceptions import DomainError
from core.roles import SiteRole


class Command(BaseCommand):
    help = "Give a person exactly the listed site roles (operator, supervisor, reviewer, instructor); none removes all."

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("roles", nargs="*", choices=SiteRole.values)

    def handle(self, *args, email, roles, **options):
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with the email address {email}.")
        try:
            services.set_site_roles(user, by=None, roles=set(roles))
        except DomainError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(f"{user.email}: {', '.join(sorted(roles)) or 'no site roles'}")
