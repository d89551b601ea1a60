"""`manage.py demo_accounts`: print the demo accounts and their password (after seed_demo)."""

from django.core.management.base import BaseCommand, CommandError

from demo.seed import DEMO_PASSWORD, REFUSAL, demo_account_rows, demo_seed_allowed


class Command(BaseCommand):
    help = "Print the demo accounts, their shared password and the address to open."

    def add_arguments(self, parser):
        parser.add_argument("--url", default="http://127.0.0.1:8000/", help="Address the site is served on.")

    def handle(self, *args, **options):
        if not demo_seed_allowed():
            raise CommandError(REFUSAL)
        rows = demo_account_rows()
        headers = ("e-mail", "role", "organisation")
        texts = [row[:3] for row in rows]
        widths = [max(len(headers[i]), *(len(text[i]) for text in texts)) for i in range(3)]

        def line(cells) -> str:
            return "  " + "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()

        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Demo accounts"))
        self.stdout.write(line(headers))
        self.stdout.write(line("-" * width for width in widths))
        missing = False
        for email, role, organisation, exists in rows:
            self.stdout.write(line((email, role, organisation)) + ("" if exists else "  (not created yet)"))
            missing = missing or not exists
        self.stdout.write("")
        self.stdout.write(f"Password for every demo account: {self.style.SUCCESS(DEMO_PASSWORD)}")
        self.stdout.write(f"Open {options['url']} and log in with one of them.")
        if missing:
            self.stdout.write(self.style.WARNING("Some demo accounts are missing: run `manage.py seed_demo` first."))
        self.stdout.write("")
