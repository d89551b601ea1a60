from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_backfill_chain")]

    operations = [
        migrations.AlterField(
            model_name="auditentry",
            name="seq",
            field=models.PositiveBigIntegerField(verbose_name="number in its chain"),
        ),
        migrations.AddConstraint(
            model_name="auditentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("consultation__isnull", False)),
                fields=("consultation", "seq"),
                name="audit_one_seq_per_consultation_chain",
            ),
        ),
        migrations.AddConstraint(
            model_name="auditentry",
            constraint=models.UniqueConstraint(
                condition=models.Q(("consultation__isnull", True)),
                fields=("seq",),
                name="audit_one_seq_in_site_chain",
            ),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["consultation", "action", "seq"], name="audit_by_action"),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["consultation", "actor_label", "seq"], name="audit_by_actor"),
        ),
    ]
