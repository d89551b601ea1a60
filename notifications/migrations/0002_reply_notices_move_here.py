# The reply notices of comments (comments.ReplyNotice, one per reply and recipient) become
# notifications of kind "reply": one home for everything a person is told. Each keeps its
# recipient, reply and time; one already e-mailed stays e-mailed (mailed_at = its sent_at);
# one still pending is mailed by notifications from now on. comments.0006 then drops the old table.

from django.db import migrations

BATCH = 2000


def forwards(apps, schema_editor):
    ReplyNotice = apps.get_model("comments", "ReplyNotice")
    Notification = apps.get_model("notifications", "Notification")
    notices = ReplyNotice.objects.select_related("reply__comment__round").order_by("pk")
    batch = []
    for notice in notices.iterator(chunk_size=BATCH):
        reply = notice.reply
        comment = reply.comment
        batch.append(
            Notification(
                recipient_id=notice.recipient_id,
                kind="reply",
                key=f"reply:{reply.pk}",
                consultation_id=comment.round.consultation_id,
                round_id=comment.round_id,
                comment_id=comment.pk,
                reply_id=reply.pk,
                actor_id=reply.author_id,
                data={},
                created_at=notice.created_at,
                mailed_at=notice.sent_at,
            )
        )
        if len(batch) >= BATCH:
            Notification.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    Notification.objects.bulk_create(batch, ignore_conflicts=True)


def backwards(apps, schema_editor):
    ReplyNotice = apps.get_model("comments", "ReplyNotice")
    Notification = apps.get_model("notifications", "Notification")
    rows = Notification.objects.filter(kind="reply", reply__isnull=False).order_by("pk")
    ReplyNotice.objects.bulk_create(
        [
            ReplyNotice(recipient_id=n.recipient_id, reply_id=n.reply_id, sent_at=n.mailed_at)
            for n in rows.iterator(chunk_size=BATCH)
        ],
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_notification"),
        ("comments", "0004_disposition_moves_to_consolidation"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
