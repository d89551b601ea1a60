"""audit_chain_head(): take a chain's append lock and read its last entry in one round trip.

An append took three statements (the advisory lock, then the chain's last entry, then the insert).
The lock and the read must stay two statements, so that the read's snapshot is taken after the lock
is granted and sees the entry its predecessor committed (in READ COMMITTED each statement takes its
own snapshot; a single SELECT taking the lock would read the chain as it was before it waited). A
VOLATILE PL/pgSQL function runs each of its statements with a fresh snapshot: the same two
statements, one round trip. On SQLite (the first-look default) nothing is created and
audit.services reads the head with the ORM.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_chain_head(lock_namespace integer, lock_key integer, chain bigint)
RETURNS TABLE (head_seq bigint, head_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(lock_namespace, lock_key);
    -- A statement of its own, after the lock: a fresh snapshot that sees the last committed append.
    IF chain IS NULL THEN
        RETURN QUERY SELECT e.seq::bigint, e.hash FROM audit_auditentry e
            WHERE e.consultation_id IS NULL ORDER BY e.seq DESC LIMIT 1;
    ELSE
        RETURN QUERY SELECT e.seq::bigint, e.hash FROM audit_auditentry e
            WHERE e.consultation_id = chain ORDER BY e.seq DESC LIMIT 1;
    END IF;
END;
$$;
"""

DROP = "DROP FUNCTION IF EXISTS audit_chain_head(integer, integer, bigint);"


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_append_only_trigger")]

    operations = [migrations.RunPython(create_function, drop_function)]
