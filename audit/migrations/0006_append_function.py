"""audit_append(): a whole append to a chain in one statement, its lock held for no Python work.

An append took three statements and Python in between (the advisory lock, the chain's last entry,
the hash computed in Python, the insert), the lock held through all of it and until the commit:
with fifty writers on one consultation, a writer descheduled while holding it held up the others.
The function takes the lock, then (a statement of its own, so with a snapshot taken after the lock:
in READ COMMITTED each statement of a VOLATILE function sees what was committed before it began)
reads the last entry, stamps the time, completes the entry's serialisation with its time, previous
hash and number, hashes it (sha256 of the UTF-8 text, exactly the bytes of audit.chain.serialise,
which Python prepares around those three values: audit.chain.serialise_around_locked) and inserts
it. verify_audit_chain recomputes every hash in Python from the stored fields, as before.

On SQLite (the first-look default) nothing is created and audit.services appends with the ORM.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION audit_append(
    lock_namespace integer, lock_key integer, chain bigint, genesis varchar,
    new_actor_id bigint, new_actor_label varchar, new_action varchar, new_consultation_title varchar,
    new_target_type varchar, new_target_id varchar, new_data jsonb,
    piece0 text, piece1 text, piece2 text, piece3 text
) RETURNS TABLE (entry_id bigint, entry_at timestamptz, entry_seq bigint, entry_prev_hash varchar, entry_hash varchar)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    last_seq bigint;
    last_hash varchar;
    stamped timestamptz;
    serialised text;
BEGIN
    PERFORM pg_advisory_xact_lock(lock_namespace, lock_key);
    -- Statements of their own, after the lock: a fresh snapshot that sees the last committed append.
    IF chain IS NULL THEN
        SELECT e.seq, e.hash INTO last_seq, last_hash FROM audit_auditentry e
        WHERE e.consultation_id IS NULL ORDER BY e.seq DESC LIMIT 1;
    ELSE
        SELECT e.seq, e.hash INTO last_seq, last_hash FROM audit_auditentry e
        WHERE e.consultation_id = chain ORDER BY e.seq DESC LIMIT 1;
    END IF;
    entry_seq := coalesce(last_seq, 0) + 1;
    entry_prev_hash := coalesce(last_hash, genesis);
    -- Taken under the lock, so time never goes back along a chain; microseconds, as stored.
    stamped := clock_timestamp();
    entry_at := stamped;
    serialised := piece0 || '"' || to_char(stamped AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') || '"'
        || piece1 || '"' || entry_prev_hash || '"' || piece2 || entry_seq::text || piece3;
    entry_hash := encode(sha256(convert_to(serialised, 'UTF8')), 'hex');
    INSERT INTO audit_auditentry (
        at, actor_id, actor_label, action, consultation_id, consultation_title,
        target_type, target_id, data, seq, prev_hash, hash
    ) VALUES (
        stamped, new_actor_id, new_actor_label, new_action, chain, new_consultation_title,
        new_target_type, new_target_id, new_data, entry_seq, entry_prev_hash, entry_hash
    ) RETURNING id INTO entry_id;
    RETURN NEXT;
END;
$$;
"""

DROP = """
DROP FUNCTION IF EXISTS audit_append(
    integer, integer, bigint, varchar, bigint, varchar, varchar, varchar, varchar, varchar, jsonb, text, text, text, text
);
"""


def create_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_function(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0005_append_only_trigger")]

    operations = [migrations.RunPython(create_function, drop_function)]
