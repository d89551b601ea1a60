"""An attacker who reaches the database with the application's role cannot rewrite the log.

Raw SQL through the application's own connection, as a SQL injection or a stolen DATABASE_URL
would send it; and as a role that owns every privilege on the table but is not a superuser.
"""

import os

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.urls import reverse

from audit.models import AuditEntry
from audit.services import audit_log
from consultations.models import Consultation

pytestmark = pytest.mark.postgres


@pytest.fixture
def entries(consultation, secretariat):
    return [
        audit_log(actor=secretariat, action="round.opened", target=consultation, consultation=consultation)
        for _ in range(3)
    ]


def raw(sql: str, params=None) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)


def snapshot():
    return list(AuditEntry.objects.order_by("id").values_list("id", "action", "hash", "data"))


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET action = 'nothing.happened'",
        "UPDATE audit_auditentry SET data = '{}' WHERE id = (SELECT min(id) FROM audit_auditentry)",
        "DELETE FROM audit_auditentry",
        "DELETE FROM audit_auditentry WHERE id = (SELECT max(id) FROM audit_auditentry)",
        "TRUNCATE audit_auditentry",
        "TRUNCATE audit_auditentry CASCADE",
    ],
)
def test_raw_update_delete_and_truncate_are_refused_by_postgresql(entries, sql):
    before = snapshot()
    with pytest.raises(DatabaseError, match="append-only"):
        raw(sql)
    assert snapshot() == before


def test_orm_update_and_delete_are_refused_too(entries):
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            AuditEntry.objects.filter(pk=entries[0].pk).update(action="x.y")
    with pytest.raises(DatabaseError, match="append-only"):
        with transaction.atomic():
            AuditEntry.objects.filter(pk=entries[0].pk).delete()
    assert AuditEntry.objects.filter(pk=entries[0].pk, action="round.opened").exists()


def test_a_non_superuser_role_with_every_table_privilege_cannot_bypass_the_trigger(entries):
    """The role a production deployment should run as: owner-like grants, no superuser."""
    role = f"audit_attacker_{os.getpid()}"
    raw(f"CREATE ROLE {role} NOSUPERUSER")  # rolled back with the test's transaction
    raw(f"GRANT ALL ON audit_auditentry TO {role}")
    raw(f"SET ROLE {role}")
    try:
        with pytest.raises(DatabaseError, match="session_replication_role"):
            raw("SET session_replication_role = replica")
        for sql in [
            "UPDATE audit_auditentry SET action = 'x'",
            "DELETE FROM audit_auditentry",
            "TRUNCATE audit_auditentry",
        ]:
            with pytest.raises(DatabaseError, match="append-only"):
                raw(sql)
    finally:
        raw("RESET ROLE")
    assert AuditEntry.objects.count() == 3


def test_inserting_is_still_allowed(entries, consultation, secretariat):
    audit_log(actor=secretariat, action="round.closed", target=consultation, consultation=consultation)
    assert AuditEntry.objects.count() == 4


# --- never cascaded --------------------------------------------------------------------------


def test_deleting_a_consultation_in_the_admin_keeps_its_entries_readable(admin_client, entries, consultation):
    before = snapshot()
    response = admin_client.post(
        reverse("admin:consultations_consultation_delete", args=[consultation.pk]), {"post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert not Consultation.objects.filter(pk=consultation.pk).exists()
    kept = snapshot()
    assert kept[: len(before)] == before  # nothing deleted nor rewritten
    entry = AuditEntry.objects.get(pk=entries[0].pk)
    assert entry.consultation_id == consultation.pk
    assert entry.consultation_title == "ASEAN Digital Masterplan 2030"
    assert entry.actor_label == "secretariat@example.org"
    # The deletion itself is on the record, at the end of the consultation's chain.
    last = AuditEntry.objects.filter(consultation_id=consultation.pk).order_by("-seq").first()
    assert last.action == "consultation.deleted"
    assert last.actor_label == "root@example.org"
    call_command("verify_audit_chain", "--consultation", str(consultation.pk))


def test_deleting_a_consultation_through_the_orm_keeps_its_entries(entries, consultation):
    before = snapshot()
    consultation.delete()
    assert snapshot() == before


def test_deleting_a_user_keeps_the_entries_they_wrote(admin_client, entries, secretariat):
    before = snapshot()
    response = admin_client.post(
        reverse("admin:accounts_user_delete", args=[secretariat.pk]), {"post": "yes"}, follow=True
    )
    assert response.status_code == 200
    assert not type(secretariat).objects.filter(pk=secretariat.pk).exists()
    assert snapshot()[: len(before)] == before
    assert AuditEntry.objects.get(pk=entries[0].pk).actor_label == "secretariat@example.org"
    assert AuditEntry.objects.filter(action="user.deleted", data__email="secretariat@example.org").exists()


def test_flush_as_a_superuser_still_empties_the_database(transactional_db, entries):
    """Transactional tests and `manage.py flush` run as a superuser may empty the log (and only they)."""
    call_command("flush", interactive=False, verbosity=0)
    assert AuditEntry.objects.count() == 0
