"""Check the audit trail's hash chain and report the first broken link."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core import audit


class Command(BaseCommand):
    help = (
        "Verify the audit trail's hash chain: every event must follow the one before it and hold the content "
        "it was sealed with. Exits with an error at the first broken link."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--seal",
            action="store_true",
            help="First seal events that are not sealed yet (normally done after commit).",
        )

    def handle(self, *args, seal=False, **options):
        if seal:
            self.stdout.write(f"Sealed {audit.seal_pending()} events.")
        report = audit.verify_chain()
        if not report.intact:
            event = report.broken
            raise CommandError(
                f"Broken link at audit event #{event.pk} (chain position {event.seq}, recorded "
                f"{timezone.localtime(event.created_at):%Y-%m-%d %H:%M:%S}, action {event.action}): "
                f"{report.problem}. {report.checked} events before it are intact."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Checked {report.checked} events: the chain is intact.")
            + f"\nHead: position {report.head_seq}, hash {report.head_hash}"
        )
        if report.unsealed:
            self.stdout.write(
                f"{report.unsealed} events are not sealed yet (run with --seal, or wait for the seal task)."
            )
