"""Appends from concurrent transactions never fork a chain; old entries are chained by the migration."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from audit.models import AuditEntry
from audit.services import LOCK_NAMESPACE, audit_log

pytestmark = pytest.mark.postgres


@pytest.mark.django_db(transaction=True)
def test_concurrent_appends_to_one_chain_are_serialised(consultation, secretariat):
    barrier = threading.Barrier(4)
    errors = []

    def writer(n: int) -> None:
        try:
            barrier.wait()
            for i in range(10):
                with transaction.atomic():
                    audit_log(
                        actor=secretariat,
                        action="comment.submitted",
                        target=consultation,
                        consultation=consultation,
                        data={"writer": n, "i": i},
                    )
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    seqs = list(AuditEntry.objects.filter(consultation=consultation).order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, 41))
    call_command("verify_audit_chain", "--consultation", consultation.slug)


def _waiting_on_the_chain_lock() -> int:
    """How many backends wait for an audit chain's advisory lock (seen from another connection)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = %s "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            [LOCK_NAMESPACE],
        )
        return int(cursor.fetchone()[0])


@pytest.mark.django_db(transaction=True)
def test_an_append_that_waited_for_the_lock_chains_onto_the_entry_committed_meanwhile(consultation, secretariat):
    """A appends and holds its transaction open; B's append starts meanwhile and waits on the lock.
    Once A commits, B must read A's entry as the chain's head (its read comes after the lock, not
    before it): numbers 1 and 2, B's previous hash A's hash, and the chain verifies."""
    a_appended, a_may_commit = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    entries: dict[str, AuditEntry] = {}

    def append(name: str) -> AuditEntry:
        return audit_log(
            actor=secretariat,
            action="comment.submitted",
            target=consultation,
            consultation=consultation,
            data={"by": name},
        )

    def a() -> None:
        try:
            with transaction.atomic():
                entries["a"] = append("a")
                a_appended.set()
                assert a_may_commit.wait(timeout=30)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            a_appended.set()
            connections.close_all()

    def b() -> None:
        try:
            assert a_appended.wait(timeout=30)
            with transaction.atomic():
                entries["b"] = append("b")
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for thread in threads:
        thread.start()
    try:
        for _ in range(3000):  # until B is seen waiting on the lock A holds (no timing assumed)
            if _waiting_on_the_chain_lock() or errors:
                break
            threading.Event().wait(0.01)
        assert _waiting_on_the_chain_lock() == 1
    finally:
        a_may_commit.set()
        for thread in threads:
            thread.join(timeout=60)
    assert errors == []
    assert (entries["a"].seq, entries["b"].seq) == (1, 2)
    assert entries["b"].prev_hash == entries["a"].hash
    call_command("verify_audit_chain", "--consultation", consultation.slug)


@pytest.mark.django_db(transaction=True)
def test_the_migration_chains_entries_written_before_it(consultation, other_consultation, secretariat):
    executor = MigrationExecutor(connection)
    executor.migrate([("audit", "0001_initial")])
    old_apps = executor.loader.project_state([("audit", "0001_initial")]).apps
    OldEntry = old_apps.get_model("audit", "AuditEntry")
    for i, target in enumerate([consultation, other_consultation, None, consultation, consultation]):
        OldEntry.objects.create(
            actor_id=secretariat.pk,
            action="round.opened",
            consultation_id=target.pk if target else None,
            target_type="consultations.consultation",
            target_id=str(i),
            data={"i": i, "ratio": 1.0},
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    rows = list(AuditEntry.objects.order_by("id").values_list("consultation_id", "seq", "actor_label"))
    assert [(c, s) for c, s, _ in rows] == [
        (consultation.pk, 1),
        (other_consultation.pk, 1),
        (None, 1),
        (consultation.pk, 2),
        (consultation.pk, 3),
    ]
    assert {label for *_, label in rows} == {"secretariat@example.org"}
    assert AuditEntry.objects.filter(consultation=consultation).first().consultation_title == consultation.title
    call_command("verify_audit_chain")
    # And the trigger is back in place after the round trip.
    with pytest.raises(Exception, match="append-only"):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM audit_auditentry")
