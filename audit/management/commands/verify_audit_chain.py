"""Recompute every audit chain (or one consultation's) and fail on the first broken entry.

    manage.py verify_audit_chain                       # every chain
    manage.py verify_audit_chain --consultation 12     # or --consultation adm-2030

Exit status 0 when every chain holds; 1 (CommandError) naming the first broken entry otherwise.
Each chain's head hash is printed: keep it somewhere else to detect a tail cut off later.
"""

from django.core.management.base import BaseCommand, CommandError

from audit.models import AuditEntry
from audit.verify import chain_ids, verify_chain


class Command(BaseCommand):
    help = "Verify the audit log's hash chains."

    def add_arguments(self, parser):
        parser.add_argument(
            "--consultation", help="Id or slug of one consultation (its chain only); 'site' for the site chain."
        )

    def handle(self, *args, consultation=None, **options):
        chains = chain_ids() if consultation is None else [self._chain_of(consultation)]
        broken = []
        for chain in chains:
            report = verify_chain(chain)
            if report.ok:
                self.stdout.write(f"{report.name}: {report.entries} entries, head {report.head}")
            else:
                broken.append(report)
                self.stderr.write(
                    f"{report.name}: BROKEN at entry id {report.broken_id} (seq {report.broken_seq}): {report.reason}"
                )
        if broken:
            first = broken[0]
            raise CommandError(
                f"{len(broken)} audit chain(s) broken; first: {first.name}, entry id {first.broken_id} "
                f"(seq {first.broken_seq}): {first.reason}"
            )
        self.stdout.write(self.style.SUCCESS(f"{len(chains)} audit chain(s) verified."))

    def _chain_of(self, value: str) -> int | None:
        if value == "site":
            return None
        if value.isdigit():
            return int(value)  # a deleted consultation's chain stays verifiable by its id
        # The consultation model through the entries' foreign key: audit imports no domain app.
        consultation_model = AuditEntry._meta.get_field("consultation").related_model
        pk = consultation_model._default_manager.filter(slug=value).values_list("pk", flat=True).first()
        if pk is None:
            raise CommandError(f"No consultation with the slug {value!r}.")
        return pk
