"""Chain the entries written before the chain existed: labels, numbers and hashes, in id order."""

from django.db import migrations

from audit.chain import GENESIS, canonical_json, entry_hash, fields_of

BATCH = 2000


def backfill(apps, schema_editor):
    AuditEntry = apps.get_model("audit", "AuditEntry")
    User = apps.get_model("accounts", "User")
    Consultation = apps.get_model("consultations", "Consultation")
    db = schema_editor.connection.alias
    emails = dict(User.objects.using(db).values_list("pk", "email"))
    titles = dict(Consultation.objects.using(db).values_list("pk", "title"))
    heads: dict = {}  # consultation id (None: the site chain) -> (seq, hash) of its last entry
    pending = []
    for entry in AuditEntry.objects.using(db).order_by("id").iterator(chunk_size=BATCH):
        seq, prev_hash = heads.get(entry.consultation_id, (0, GENESIS))
        entry.actor_label = emails.get(entry.actor_id, "") if entry.actor_id else ""
        entry.consultation_title = titles.get(entry.consultation_id, "") if entry.consultation_id else ""
        entry.data = canonical_json(entry.data)
        entry.seq = seq + 1
        entry.prev_hash = prev_hash
        entry.hash = entry_hash(fields_of(entry))
        heads[entry.consultation_id] = (entry.seq, entry.hash)
        pending.append(entry)
        if len(pending) >= BATCH:
            AuditEntry.objects.using(db).bulk_update(
                pending, ["actor_label", "consultation_title", "data", "seq", "prev_hash", "hash"]
            )
            pending = []
    if pending:
        AuditEntry.objects.using(db).bulk_update(
            pending, ["actor_label", "consultation_title", "data", "seq", "prev_hash", "hash"]
        )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0002_entry_chain"),
        ("accounts", "0001_initial"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
