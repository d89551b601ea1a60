"""export_consultation / import_consultation: a consultation to one file and back, byte for byte.

The round trip runs as an operator would: the export from this test's database, then
`manage.py migrate`, `import_consultation` and `export_consultation` in processes of their own
against a second, freshly created PostgreSQL database, and the two files compared.
"""

import gzip
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import transaction
from openpyxl import load_workbook

from accounts.models import Organisation, User
from audit.models import AuditEntry
from comments.models import Comment
from comments.services import comment_flag, comment_return
from consolidation.documents.matrix import write_template_xlsx
from consolidation.models import Disposition, Report
from consolidation.services.assignments import comments_assign
from consolidation.services.exports import report_request
from consolidation.services.imports import import_request
from consultations.models import Consultation, Invitation
from consultations.reminders import round_remind
from consultations.services import invitation_create, round_extend
from demo.seed import ADMIN_EMAIL, CONSULTATION_SLUG, DEMO_PASSWORD, seed_demo
from tests import factories
from transfer.registry import CARRIED, EXCLUDED
from transfer.services import carried_labels

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

SERVER = "postgresql://postgres@127.0.0.1:5432"


# --- a second database, and manage.py run against it --------------------------------------


def _admin(sql: str) -> None:
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(sql)


class Site:
    """A database of its own and a MEDIA_ROOT of its own, driven through manage.py subprocesses."""

    def __init__(self, name: str, media: Path):
        self.name = name
        self.media = media

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        env = {k: v for k, v in os.environ.items() if k not in {"TEST_DATABASE_NAME", "DJANGO_SETTINGS_MODULE"}}
        env.update(
            DATABASE_URL=f"{SERVER}/{self.name}",
            DJANGO_SETTINGS_MODULE="tests.transfer.subprocess_settings",
            MEDIA_ROOT=str(self.media),
        )
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )

    def row_counts(self) -> dict[str, int]:
        with psycopg.connect(f"{SERVER}/{self.name}") as conn:
            return {
                label: conn.execute(f'SELECT count(*) FROM "{apps.get_model(label)._meta.db_table}"').fetchone()[0]
                for label in carried_labels()
            }

    def stored_files(self) -> list[Path]:
        return [p for p in self.media.rglob("*") if p.is_file()] if self.media.exists() else []


@pytest.fixture(scope="module")
def migrated_template(tmp_path_factory):
    """One freshly migrated database per run; each test gets a copy of it (CREATE DATABASE ... TEMPLATE)."""
    name = f"test_transfer_template_{os.getpid()}"
    _admin(f"DROP DATABASE IF EXISTS {name}")
    _admin(f"CREATE DATABASE {name}")
    try:
        result = Site(name, tmp_path_factory.mktemp("template-media")).manage("migrate", "--noinput", "-v", "0")
        assert result.returncode == 0, result.stderr
        yield name
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def empty_site(migrated_template, tmp_path, request):
    name = f"test_transfer_{os.getpid()}_{abs(hash(request.node.name)) % 10**8}"
    _admin(f"DROP DATABASE IF EXISTS {name}")
    _admin(f"CREATE DATABASE {name} TEMPLATE {migrated_template}")
    try:
        yield Site(name, tmp_path / "media")
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# --- the consultation -------------------------------------------------------------------------


def _template_upload() -> SimpleUploadedFile:
    out = io.BytesIO()
    write_template_xlsx(out)
    workbook = load_workbook(io.BytesIO(out.getvalue()))
    sheet = workbook["Comments"]
    # Below the header block and the header row (tests.helpers.reports.HEADER_ROW): Clause/Subclause,
    # Type of comment, Comments, Language.
    for column, value in {3: "1.1.1", 5: "te", 6: "Name the rural target too.", 14: "en"}.items():
        sheet.cell(row=8, column=column, value=value)
    out = io.BytesIO()
    workbook.save(out)
    return SimpleUploadedFile("viet-nam-comments.xlsx", out.getvalue())


def build_rich_consultation(capture_on_commit) -> Consultation:
    """The ADM 2030 demo (two rounds, comments, consolidation, dispositions, carry-over), plus
    one of everything the demo lacks, each made through its service: an extension, round
    e-mails, an invitation, a flag, a comment sent back, a support, a generated report, an imported
    template, assignments, MFA keys."""
    seed_demo()
    consultation = Consultation.objects.get(slug=CONSULTATION_SLUG)
    users = {user.email: user for user in User.objects.all()}
    secretariat = users["secretariat@example.org"]
    first_round, open_round = consultation.rounds.order_by("opens_at")
    thailand = Organisation.objects.get(name="Thailand")
    viet_nam = Organisation.objects.get(name="Viet Nam")
    with capture_on_commit(execute=True):
        round_extend(
            actor=secretariat,
            engagement_round=open_round,
            organisation=thailand,
            closes_at=open_round.closes_at + timedelta(days=3),
            reason="Songkran holidays",
        )
        # A round e-mail recorded before notifications took them over (issue 12): history that travels.
        factories.RoundNoticeFactory(round=open_round, user=secretariat, sent_at=open_round.opens_at)
        round_remind(actor=secretariat, engagement_round=open_round, organisation_ids=[thailand.pk])
        invitation_create(
            actor=secretariat,
            consultation=consultation,
            email="new.delegate@example.org",
            organisation=thailand,
            role="member_state",
        )
        comment = Comment.objects.filter(
            round=open_round, status=Comment.Status.SUBMITTED, organisation=viet_nam
        ).first()
        comment_flag(actor=users["vn.focal@example.org"], comment=comment, reason="Please check the figure.")
        sent_back = (
            Comment.objects.filter(round=open_round, status=Comment.Status.SUBMITTED, organisation=viet_nam)
            .exclude(author=users["vn.focal@example.org"])
            .exclude(pk=comment.pk)
            .order_by("pk")
            .first()
        )
        comment_return(actor=users["vn.focal@example.org"], comment=sent_back, note="Please cite the study.")
        # Thailand's support (issue 12). A row, not the service: the demo's open round is
        # secretariat-only, so no other delegation may see the comment to support it now.
        factories.CommentSupportFactory(
            comment=comment, organisation=thailand, supported_by=users["th.delegate@example.org"]
        )
        report_request(
            actor=secretariat,
            consultation=consultation,
            kind=Report.Kind.RESOLUTION_MATRIX,
            format=Report.Format.CSV,
            engagement_round=first_round,
        )
        import_request(
            actor=secretariat, engagement_round=first_round, organisation=viet_nam, upload=_template_upload()
        )
        comments_assign(
            actor=secretariat,
            engagement_round=first_round,
            comment_ids=list(
                Comment.objects.filter(round=first_round, status=Comment.Status.SUBMITTED)
                .order_by("pk")
                .values_list("pk", flat=True)[:3]
            ),
            assignee=users["consultant@example.org"],
        )
    admin = users[ADMIN_EMAIL]
    TOTP.activate(admin, generate_totp_secret())
    RecoveryCodes.activate(admin)
    return consultation


def _lines(path: Path) -> list[bytes]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    return data.splitlines(keepends=True)


def _resigned(path: Path, rows: list[bytes], header: dict) -> Path:
    """A file with these rows and header and a correct checksum: damage only the checksum cannot see."""
    body = (json.dumps(header, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
    body += b"".join(rows)
    trailer = {"files": 0, "rows": len(rows), "sha256": hashlib.sha256(body).hexdigest()}
    path.write_bytes(body + (json.dumps(trailer, sort_keys=True) + "\n").encode())
    return path


# --- the round trip -----------------------------------------------------------------------


def test_a_consultation_restored_into_an_empty_database_exports_byte_for_byte_the_same(
    django_capture_on_commit_callbacks, empty_site, tmp_path
):
    build_rich_consultation(django_capture_on_commit_callbacks)
    first = tmp_path / "adm-2030.jsonl.gz"
    call_command("export_consultation", CONSULTATION_SLUG, str(first), stdout=io.StringIO())

    lines = _lines(first)
    header = json.loads(lines[0])
    # Every carried table has rows in this consultation, so the comparison below covers them all.
    assert [t["model"] for t in header["tables"] if t["rows"] == 0] == []
    assert [t["model"] for t in header["tables"]] == carried_labels()
    stored = [json.loads(line)[1]["name"] for line in lines[1:-1] if line.startswith(b'["file",')]
    assert len(stored) == 2 and any(n.startswith("reports/") for n in stored)
    assert any(n.startswith("imports/") for n in stored)

    imported = empty_site.manage("import_consultation", str(first))
    assert imported.returncode == 0, imported.stderr
    second = tmp_path / "again.jsonl.gz"
    exported = empty_site.manage("export_consultation", CONSULTATION_SLUG, str(second))
    assert exported.returncode == 0, exported.stderr

    assert second.read_bytes() == first.read_bytes()
    assert stat.S_IMODE(first.stat().st_mode) == 0o600 and stat.S_IMODE(second.stat().st_mode) == 0o600
    assert len(empty_site.stored_files()) == 2

    # Logins keep working on the restored site, MFA keys included, and new rows get new ids.
    check = empty_site.manage(
        "shell",
        "--no-imports",
        "-c",
        "from accounts.models import User; from allauth.mfa.models import Authenticator; "
        "from consultations.models import Phase, Consultation; "
        f"u = User.objects.get(email='{ADMIN_EMAIL}'); "
        f"print(u.check_password('{DEMO_PASSWORD}'), Authenticator.objects.filter(user=u).count(), "
        "Phase.objects.create(consultation=Consultation.objects.get(), name='After', starts_on='2026-02-01', "
        "ends_on='2026-03-01').pk > max(Phase.objects.exclude(name='After').values_list('pk', flat=True)))",
    )
    assert check.returncode == 0, check.stderr
    assert check.stdout.split() == ["True", "2", "True"]


def test_an_import_that_fails_at_the_last_step_leaves_the_database_and_storage_empty(
    django_capture_on_commit_callbacks, empty_site, tmp_path
):
    build_rich_consultation(django_capture_on_commit_callbacks)
    export = tmp_path / "adm-2030.jsonl"
    call_command("export_consultation", CONSULTATION_SLUG, str(export), stdout=io.StringIO())
    lines = _lines(export)
    header = json.loads(lines[0])
    # Correctly signed, but without its organisations: every other row is inserted (and the
    # stored files written) before PostgreSQL checks the references at commit.
    for table in header["tables"]:
        if table["model"] == "accounts.organisation":
            table["rows"] = 0
    rows = [line for line in lines[1:-1] if not line.startswith(b'["accounts.organisation",')]
    broken = _resigned(tmp_path / "broken.jsonl", rows, header)

    result = empty_site.manage("import_consultation", str(broken))

    assert result.returncode != 0
    assert "do not fit together" in result.stderr
    assert set(empty_site.row_counts().values()) == {0}
    assert empty_site.stored_files() == []


# --- refusals, against this test's own (empty) database ----------------------------------


@pytest.fixture
def demo_export(tmp_path) -> Path:
    """An export of the demo consultation, made in a transaction rolled back afterwards: the
    test's database is empty again when the test starts."""
    path = tmp_path / "demo.jsonl"
    with transaction.atomic():
        seed_demo()
        call_command("export_consultation", CONSULTATION_SLUG, str(path), stdout=io.StringIO())
        transaction.set_rollback(True)
    assert not Consultation.objects.exists()
    return path


def _snapshot() -> dict[str, list]:
    return {label: list(apps.get_model(label)._base_manager.order_by("pk").values()) for label in carried_labels()}


def test_import_into_a_database_that_already_has_an_account_is_refused_and_changes_nothing(demo_export):
    factories.UserFactory(email="first.admin@example.org")  # as after `createsuperuser`
    before = _snapshot()

    with pytest.raises(CommandError, match="already holds rows of accounts.user, account.emailaddress"):
        call_command("import_consultation", str(demo_export))

    assert _snapshot() == before


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda data: data.replace(b"Viet Nam supports the target", b"Viet Nam opposes the target", 1), "checksum"),
        (lambda data: data[: len(data) // 2], "not valid JSON|truncated|checksum"),
        (lambda data: data[: data.rindex(b"\n", 0, -1) + 1], "truncated"),
        (lambda data: b"", "empty"),
        (lambda data: gzip.compress(data)[:-40], "damaged"),
    ],
    ids=["one-word-changed", "cut-in-half", "trailer-missing", "empty", "gzip-cut"],
)
def test_a_changed_or_damaged_file_is_refused_and_nothing_is_imported(demo_export, damage, message):
    demo_export.write_bytes(damage(demo_export.read_bytes()))

    with pytest.raises(CommandError, match=message):
        call_command("import_consultation", str(demo_export))

    assert set(len(rows) for rows in _snapshot().values()) == {0}


def test_a_file_of_another_format_version_is_refused(demo_export, tmp_path):
    lines = _lines(demo_export)
    header = json.loads(lines[0]) | {"version": 2}
    newer = _resigned(tmp_path / "newer.jsonl", lines[1:-1], header)

    with pytest.raises(CommandError, match="format version 2; this site reads version 1"):
        call_command("import_consultation", str(newer))

    assert not Consultation.objects.exists()


def test_an_import_restores_the_rows_exactly_and_sends_nothing(
    demo_export, tmp_path, django_capture_on_commit_callbacks, mailoutbox
):
    with django_capture_on_commit_callbacks() as queued:
        call_command("import_consultation", str(demo_export), stdout=io.StringIO())
    assert queued == [] and mailoutbox == []  # no task queued, nobody e-mailed

    again = tmp_path / "again.jsonl"
    call_command("export_consultation", CONSULTATION_SLUG, str(again), stdout=io.StringIO())

    assert again.read_bytes() == demo_export.read_bytes()
    # Nothing was logged into the consultation's own record by the import...
    consultation = Consultation.objects.get()
    assert not consultation.audit_entries.filter(action="consultation.imported").exists()
    # ...but both the import and each export are on record.
    assert AuditEntry.objects.filter(action="consultation.imported", target_id=str(consultation.pk)).count() == 1
    assert consultation.audit_entries.filter(action="consultation.exported").count() == 1


# --- the file itself -------------------------------------------------------------------------


def test_the_export_is_readable_by_its_owner_only_even_over_an_existing_file(db, tmp_path):
    seed_demo()
    path = tmp_path / "adm.jsonl"
    path.write_text("old")
    path.chmod(0o644)
    old_umask = os.umask(0o022)
    try:
        call_command("export_consultation", CONSULTATION_SLUG, str(path), stdout=io.StringIO())
    finally:
        os.umask(old_umask)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(_lines(path)[0])["consultation"]["slug"] == CONSULTATION_SLUG


def test_a_failed_export_leaves_no_file_behind(db, tmp_path):
    with pytest.raises(CommandError, match="There is no consultation 'nope'"):
        call_command("export_consultation", "nope", str(tmp_path / "nope.jsonl"))

    assert list(tmp_path.iterdir()) == []


def test_users_with_django_groups_are_refused_rather_than_exported_without_them(db, tmp_path):
    from django.contrib.auth.models import Group

    seed_demo()
    User.objects.get(email="secretariat@example.org").groups.add(Group.objects.create(name="editors"))

    with pytest.raises(CommandError, match="accounts.user has groups"):
        call_command("export_consultation", CONSULTATION_SLUG, str(tmp_path / "x.jsonl"))


# --- nothing escapes the list -------------------------------------------------------------


def _is_project_app(app_config) -> bool:
    path = Path(app_config.path).resolve()
    return path.is_relative_to(Path(settings.BASE_DIR).resolve()) and "site-packages" not in path.parts


def test_every_model_that_belongs_to_a_consultation_is_carried_or_excluded_with_a_reason():
    carried = set(carried_labels())
    assert not carried & EXCLUDED.keys()
    assert all(reason.strip() for reason in EXCLUDED.values())
    unlisted = []
    for model in apps.get_models(include_auto_created=True):
        label = model._meta.label_lower
        points_at_carried = any(
            f.is_relation and f.related_model._meta.label_lower in carried for f in model._meta.concrete_fields
        )
        if (_is_project_app(model._meta.app_config) or points_at_carried) and label not in carried | EXCLUDED.keys():
            unlisted.append(label)
    assert unlisted == []
    # And what is carried only points at what is carried, so the file is whole.
    for label in carried:
        for f in apps.get_model(label)._meta.concrete_fields:
            if f.is_relation:
                assert f.related_model._meta.label_lower in carried, f"{label}.{f.name}"
    assert all(apps.get_model(label) for label in EXCLUDED)
    assert len({spec.label for spec in CARRIED}) == len(CARRIED)
    assert Authenticator._meta.label_lower in carried


def test_a_file_made_before_a_model_moved_app_still_imports(tmp_path):
    """Issue 9 moved Invitation to consultations and Disposition to consolidation: older exports name
    them accounts.invitation and comments.disposition."""
    path = tmp_path / "demo.jsonl"
    with transaction.atomic():
        seed_demo()
        consultation = Consultation.objects.get(slug=CONSULTATION_SLUG)
        secretariat = consultation.participations.filter(role="secretariat").first()
        thailand = consultation.participations.filter(organisation__country_code="TH").first().organisation
        invitation_create(
            actor=secretariat.user,
            consultation=consultation,
            email="new.delegate@example.org",
            organisation=thailand,
            role="member_state",
        )
        call_command("export_consultation", CONSULTATION_SLUG, str(path), stdout=io.StringIO())
        transaction.set_rollback(True)
    lines = _lines(path)
    header = json.loads(lines[0])
    renamed = {"consultations.invitation": "accounts.invitation", "consolidation.disposition": "comments.disposition"}
    counts = {t["model"]: t["rows"] for t in header["tables"]}
    assert counts["consultations.invitation"] == 1 and counts["consolidation.disposition"] > 0
    header["tables"] = [t | {"model": renamed.get(t["model"], t["model"])} for t in header["tables"]]
    rows = []
    for line in lines[1:-1]:
        for new, old in renamed.items():
            prefix = b"[" + json.dumps(new).encode()
            if line.startswith(prefix):
                line = b"[" + json.dumps(old).encode() + line[len(prefix) :]
        rows.append(line)
    older = _resigned(tmp_path / "older.jsonl", rows, header)

    call_command("import_consultation", str(older), stdout=io.StringIO())

    assert list(Invitation.objects.values_list("email", flat=True)) == ["new.delegate@example.org"]
    assert Disposition.objects.count() == counts["consolidation.disposition"]
