"""`manage.py export_consultation SLUG FILE`: one consultation, whole, to one file (see docs/backup.md)."""

from django.core.management.base import BaseCommand, CommandError

from transfer.services import TransferError, export_consultation


class Command(BaseCommand):
    help = (
        "Write one consultation with its people, versions, rounds, comments, dispositions, consolidations, "
        "reports and audit log to FILE (JSON Lines; gzip if FILE ends in .gz). The file holds password "
        "hashes and MFA secrets and is written with mode 0600."
    )

    def add_arguments(self, parser):
        parser.add_argument("slug", help="The consultation's slug.")
        parser.add_argument("file", help="Where to write; replaced whole when the export succeeds.")
        parser.add_argument(
            "--without-files",
            action="store_true",
            help="Leave out the contents of report files and uploaded templates (their rows still travel).",
        )

    def handle(self, *args, slug, file, without_files, **options):
        try:
            summary = export_consultation(slug=slug, path=file, with_files=not without_files)
        except (TransferError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Exported '{summary.consultation}': {summary.rows} rows in {len(summary.tables)} tables, "
                f"{summary.files} stored files, to {file} (sha256 {summary.sha256})."
            )
        )
        self.stdout.write("The file holds password hashes and MFA secrets: keep it as you keep the database.")
