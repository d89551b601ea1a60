"""`manage.py seed_demo`: store the demo consultation (ADM 2030) and its demo accounts.

Idempotent, so `make run` calls it every time. Refused under production settings.
"""

from django.core.management.base import BaseCommand, CommandError

from demo.seed import DemoSeedNotAllowed, seed_demo


class Command(BaseCommand):
    help = "Create the demo consultation, organisations and demo accounts (idempotent; never in production)."

    def handle(self, *args, **options):
        try:
            result = seed_demo()
        except DemoSeedNotAllowed as exc:
            raise CommandError(str(exc)) from exc
        created = {kind: count for kind, count in result["created"].items() if count}
        if created:
            summary = ", ".join(f"{count} {kind}" for kind, count in created.items())
            self.stdout.write(self.style.SUCCESS(f"Demo consultation '{result['consultation']}' seeded: {summary}."))
        else:
            self.stdout.write(f"Demo consultation '{result['consultation']}' already in place; nothing to create.")
