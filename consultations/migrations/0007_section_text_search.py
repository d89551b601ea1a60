"""Full-text search in a version's text (issue 12): accent-insensitive, any language written with spaces.

PostgreSQL only (SQLite, the first-look default, searches with LIKE: comments.selectors_search).
`text_search_fold(text)` is unaccent() made IMMUTABLE (unaccent itself is only STABLE, since its
dictionary could change), so that an index can hold it: "quy hoach" then finds "quy hoạch", "da
nang" "Đà Nẵng". The 'simple' configuration lowercases and stems nothing: it works the same for
Vietnamese, Bahasa, English or Filipino; scripts written without spaces (Thai, Lao, Khmer,
Burmese) are one token per run of letters, so a word inside such a run is not found (a known
limit, docs/architecture.md). The GIN index is built CONCURRENTLY: writes go on meanwhile.
unaccent is a trusted extension (PostgreSQL 13+): the database's owner may create it.
"""

from django.db import migrations

EXTENSION_SCHEMA = (
    "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'unaccent'"
)
# Schema-qualified inside: an index expression must not depend on the search_path of whoever
# evaluates it (a restore runs with an empty one). COST 1000: folding and parsing a whole text
# per row is expensive, and saying so makes the planner read the GIN index rather than fold
# every section of a version (a rare word in 200 sections: 35 ms by the version's index, 5 ms
# by the GIN index, docs/performance.md).
FOLD = """
CREATE OR REPLACE FUNCTION text_search_fold(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT COST 1000
    AS $$ SELECT {schema}.unaccent('{schema}.unaccent'::regdictionary, $1) $$;
"""
INDEX = (
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS section_text_search ON consultations_section "
    "USING gin (to_tsvector('simple'::regconfig, text_search_fold(heading || ' ' || body)))"
)


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE EXTENSION IF NOT EXISTS unaccent")
        cursor.execute(EXTENSION_SCHEMA)
        (schema,) = cursor.fetchone()
        cursor.execute(FOLD.format(schema=schema_editor.connection.ops.quote_name(schema)))
        cursor.execute(INDEX)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("DROP INDEX CONCURRENTLY IF EXISTS section_text_search")
        # The function stays: comments' index may use it (comments 0010 drops it with its own).


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("consultations", "0006_draftversion_line_rules")]

    operations = [migrations.RunPython(forward, backward)]
