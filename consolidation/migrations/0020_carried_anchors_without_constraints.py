"""A carried-over anchor's keys to its comment, version and section without constraints in the database.

See the model: their deferred checks were 0.2 s of carrying over 10,000 comments. Django still
deletes a comment's, a version's or a section's anchors with it.
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('comments', '0011_comment_text_search'),
        ('consolidation', '0019_state_similarities_packed'),
        ('consultations', '0007_section_text_search'),
    ]

    operations = [
        migrations.AlterField(
            model_name='carriedanchor',
            name='comment',
            field=models.ForeignKey(db_constraint=False, db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='carried_anchors', to='comments.comment'),
        ),
        migrations.AlterField(
            model_name='carriedanchor',
            name='section',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.CASCADE, related_name='carried_anchors', to='consultations.section'),
        ),
        migrations.AlterField(
            model_name='carriedanchor',
            name='version',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.CASCADE, related_name='carried_anchors', to='consultations.draftversion'),
        ),
    ]
