"""Full-text search in comments (issue 12): the comment and its proposed change, accent-insensitive.

The same expression as comments.selectors_search uses (PostgreSQL only), on the function
consultations 0006 creates. Built CONCURRENTLY: a round's writes go on while a large table is
indexed.
"""

from django.db import migrations

INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS comment_text_search ON comments_comment "
    "USING gin (to_tsvector('simple'::regconfig, text_search_fold(body || ' ' || proposed_change)))"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(INDEX)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX CONCURRENTLY IF EXISTS comment_text_search")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("comments", "0010_suggestions_and_returns"),
        ("consultations", "0007_section_text_search"),
    ]

    operations = [migrations.RunPython(forward, backward)]
