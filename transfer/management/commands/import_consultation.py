"""`manage.py import_consultation FILE`: load an export into an empty database (see docs/backup.md)."""

from django.core.management.base import BaseCommand, CommandError

from transfer.services import TransferError, import_consultation


class Command(BaseCommand):
    help = (
        "Load a file written by export_consultation into this database, which must hold none of the rows of "
        "its tables (migrate first, create no account). All or nothing; the checksum is verified first."
    )

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, file, **options):
        try:
            summary = import_consultation(path=file)
        except TransferError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported '{summary.consultation}': {summary.rows} rows in {len(summary.tables)} tables, "
                f"{summary.files} stored files (sha256 {summary.sha256})."
            )
        )
