"""Each consultation's entries form a hash chain that verify_audit_chain recomputes.

Tampering is done the way only a superuser could (replica mode switches the trigger off),
then the command must fail and name the entry.
"""

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from audit.chain import GENESIS, LOCKED_FIELDS, entry_hash, fields_of, serialise, serialise_around_locked
from audit.models import AuditEntry
from audit.services import audit_log


def write(consultation, actor, action="comment.submitted", **data):
    return audit_log(actor=actor, action=action, target=consultation, consultation=consultation, data=data)


def verify(*args) -> str:
    out = StringIO()
    call_command("verify_audit_chain", *args, stdout=out, stderr=out)
    return out.getvalue()


def tamper(sql: str, params=None) -> None:
    """What a superuser with a psql prompt could do: switch triggers off for the session, then write."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)


def test_each_consultation_has_its_own_chain_numbered_from_one(consultation, other_consultation, secretariat):
    a1 = write(consultation, secretariat)
    b1 = write(other_consultation, secretariat)
    a2 = write(consultation, secretariat)
    site = audit_log(actor=secretariat, action="mfa.activated", target=secretariat)
    assert (a1.seq, a2.seq, b1.seq, site.seq) == (1, 2, 1, 1)
    assert a1.prev_hash == b1.prev_hash == site.prev_hash == GENESIS
    assert a2.prev_hash == a1.hash
    for entry in AuditEntry.objects.all():
        assert entry.hash == entry_hash(fields_of(entry))  # what was stored is what was hashed


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"text": 'Hà Nội ✓ "quoted" \\ back', "ratio": 0.1, "whole": 2.0, "big": 1e20},
        # Keys named like the fields PostgreSQL fills in, and their JSON text inside values.
        {"seq": 1, "prev_hash": ',"seq":', "at": {"nested": [1, None, {"b": 2, "a": "'"}]}},
    ],
)
@pytest.mark.parametrize("consultation_id", [None, 7])
def test_the_pieces_around_time_number_and_previous_hash_make_the_hashed_bytes(data, consultation_id):
    """PostgreSQL completes what Python prepared (audit migration 0006): the pieces with the time,
    previous hash and number written in between must be exactly the bytes verify_audit_chain hashes."""
    fields = {
        "seq": 12,
        "consultation_id": consultation_id,
        "consultation_title": 'ASEAN "Digital" Masterplan' if consultation_id else "",
        "at": datetime(2026, 11, 30, 1, 2, 3, 45, tzinfo=UTC),
        "actor_id": None,
        "actor_label": "secretariat@example.org",
        "action": "comment.submitted",
        "target_type": "comments.comment",
        "target_id": "41",
        "data": data,
        "prev_hash": "ab" * 32,
    }
    pieces = serialise_around_locked({k: v for k, v in fields.items() if k not in LOCKED_FIELDS})

    completed = f'{pieces[0]}"2026-11-30T01:02:03.000045Z"{pieces[1]}"{"ab" * 32}"{pieces[2]}12{pieces[3]}'

    assert completed.encode("utf-8") == serialise(fields)


def test_the_stored_entry_hashes_as_written_whatever_the_data(consultation, secretariat):
    entry = write(consultation, secretariat, ratio=0.1, big=1e20, whole=2.0, text="Hà Nội ✓", nested={"b": [1, None]})
    stored = AuditEntry.objects.get(pk=entry.pk)
    assert stored.hash == entry.hash == entry_hash(fields_of(stored))


def test_verify_passes_on_an_untouched_log(consultation, other_consultation, secretariat):
    for _ in range(3):
        write(consultation, secretariat)
        write(other_consultation, secretariat)
    audit_log(actor=None, action="user.created", target=secretariat)
    output = verify()
    assert "3 audit chain(s) verified" in output
    assert f"consultation {consultation.pk}: 3 entries" in output


def test_verify_names_an_entry_whose_content_was_changed(consultation, secretariat):
    entries = [write(consultation, secretariat, n=n) for n in range(5)]
    tamper("UPDATE audit_auditentry SET actor_label = 'someone.else@example.org' WHERE id = %s", [entries[2].pk])
    with pytest.raises(CommandError, match=f"entry id {entries[2].pk} \\(seq 3\\).*was changed"):
        verify()


def test_verify_names_the_gap_left_by_a_deleted_entry(consultation, secretariat):
    entries = [write(consultation, secretariat, n=n) for n in range(5)]
    tamper("DELETE FROM audit_auditentry WHERE id = %s", [entries[1].pk])
    with pytest.raises(CommandError, match=f"entry id {entries[2].pk} \\(seq 3\\).*missing"):
        verify("--consultation", consultation.slug)


def test_verify_catches_a_rewritten_entry_even_with_its_hash_recomputed(consultation, secretariat):
    """An attacker who re-hashes the entry they changed still breaks the link to the next one."""
    entries = [write(consultation, secretariat, n=n) for n in range(4)]
    forged = AuditEntry.objects.get(pk=entries[1].pk)
    forged.data = {"n": 99}
    cast = "::jsonb" if connection.vendor == "postgresql" else ""
    tamper(
        f"UPDATE audit_auditentry SET data = %s{cast}, hash = %s WHERE id = %s",
        ['{"n": 99}', entry_hash(fields_of(forged)), forged.pk],
    )
    with pytest.raises(CommandError, match=f"entry id {entries[2].pk} \\(seq 3\\).*previous hash"):
        verify()


def test_verify_one_consultation_only(consultation, other_consultation, secretariat):
    write(consultation, secretariat)
    broken = write(other_consultation, secretariat)
    tamper("UPDATE audit_auditentry SET action = 'x.y' WHERE id = %s", [broken.pk])
    assert "1 audit chain(s) verified" in verify("--consultation", str(consultation.pk))
    with pytest.raises(CommandError):
        verify("--consultation", other_consultation.slug)


def test_verify_refuses_an_unknown_slug(db):
    with pytest.raises(CommandError, match="No consultation"):
        verify("--consultation", "no-such-thing")
