# A round's state is scheduled, open or closed; whether a closed round is being consolidated or
# reported is derived from its consolidation runs. Rounds stored as consolidating or reported are
# closed rounds.

from django.db import migrations, models


def to_closed(apps, schema_editor):
    EngagementRound = apps.get_model("consultations", "EngagementRound")
    EngagementRound.objects.filter(state__in=["consolidating", "reported"]).update(state="closed")


class Migration(migrations.Migration):

    dependencies = [
        ('consultations', '0002_invitation'),
    ]

    operations = [
        migrations.RunPython(to_closed, migrations.RunPython.noop),
        migrations.AlterField(
            model_name='engagementround',
            name='state',
            field=models.CharField(choices=[('scheduled', 'Scheduled'), ('open', 'Open'), ('closed', 'Closed')], default='scheduled', max_length=20, verbose_name='state'),
        ),
    ]
