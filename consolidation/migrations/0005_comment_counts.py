"""The comment counts of the consolidated feedback, kept by PostgreSQL triggers (issue 10, line 5).

consolidation_commentcount holds, per round, section, organisation, status, type, hidden flag and
disposition state ("none", "proposed" or the decision), how many comments there are. Statement-level
AFTER triggers with transition tables keep it in the writer's transaction, whoever writes: the
services, the template import's bulk_create, a restore, COPY (the benchmark's million rows are one
aggregated upsert), raw SQL. Each statement adds its deltas with one INSERT ... ON CONFLICT DO
UPDATE SET n = n + delta, cells in key order, so concurrent writers serialise on the cells they
share and never lose an increment.

A disposition's trigger reads its comment FOR SHARE: a concurrent change of the comment's type or
status then waits, and the later of the two sees the other's row, so the cell moved from is the
one the comment is counted in. The comment's trigger reads the disposition as it is.

On SQLite (the first-look default) nothing is created and the feedback page counts comments.
The existing comments are counted once here.
"""

import django.db.models.deletion
from django.db import migrations, models

KEY = "round_id, section_id, organisation_id, status, type, is_hidden, disposition"
UPSERT = f"""
    INSERT INTO consolidation_commentcount AS cc ({KEY}, n)
    SELECT {KEY}, sum(delta) FROM ({{deltas}}) AS deltas
    GROUP BY {KEY} HAVING sum(delta) <> 0 ORDER BY {KEY}
    ON CONFLICT ({KEY}) DO UPDATE SET n = cc.n + EXCLUDED.n;
"""
COMMENT_KEY = "{t}.round_id, {t}.section_id, {t}.organisation_id, {t}.status, {t}.type, {t}.is_hidden"
STATE = "comment_count_state(d.decision, d.proposed_decision) AS disposition"


def comment_rows(rows: str, delta: int) -> str:
    """The rows of a transition table with their disposition state, each worth `delta`."""
    return (
        f"SELECT {COMMENT_KEY.format(t='c')}, {STATE}, {delta} AS delta FROM {rows} c "
        "LEFT JOIN consolidation_disposition d ON d.comment_id = c.id"
    )


def trigger_function(name: str, body: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
{body}
    RETURN NULL;
END;
$$;
"""


# A comment update moves only the rows whose counted columns changed.
COMMENT_UPDATE = f"""
    WITH changed AS MATERIALIZED (
        SELECT {COMMENT_KEY.format(t="o")}, 'old' AS side, o.id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE ({COMMENT_KEY.format(t="o")}) IS DISTINCT FROM ({COMMENT_KEY.format(t="n")})
        UNION ALL
        SELECT {COMMENT_KEY.format(t="n")}, 'new' AS side, n.id FROM old_rows o JOIN new_rows n ON n.id = o.id
        WHERE ({COMMENT_KEY.format(t="o")}) IS DISTINCT FROM ({COMMENT_KEY.format(t="n")})
    )
""" + UPSERT.format(
    deltas=f"SELECT {COMMENT_KEY.format(t='c')}, {STATE}, CASE c.side WHEN 'old' THEN -1 ELSE 1 END AS delta "
    "FROM changed c LEFT JOIN consolidation_disposition d ON d.comment_id = c.id"
)

# A disposition's state change moves its comment between cells; the comment is read FOR SHARE.
DISPOSITION_STATES = {
    "insert": "SELECT n.comment_id, 'none' AS old_state, comment_count_state(n.decision, n.proposed_decision) "
    "AS new_state FROM new_rows n",
    "update": "SELECT n.comment_id, comment_count_state(o.decision, o.proposed_decision) AS old_state, "
    "comment_count_state(n.decision, n.proposed_decision) AS new_state "
    "FROM old_rows o JOIN new_rows n ON n.id = o.id AND n.comment_id = o.comment_id",
    "delete": "SELECT o.comment_id, comment_count_state(o.decision, o.proposed_decision) AS old_state, "
    "'none' AS new_state FROM old_rows o",
}


def disposition_body(event: str) -> str:
    return f"""
    WITH moved AS MATERIALIZED (
        SELECT * FROM ({DISPOSITION_STATES[event]}) s WHERE old_state <> new_state
    ), locked AS MATERIALIZED (
        SELECT {COMMENT_KEY.format(t="c")}, c.id FROM comments_comment c
        WHERE c.id IN (SELECT comment_id FROM moved) ORDER BY c.id FOR SHARE
    )
""" + UPSERT.format(
        deltas=f"SELECT {COMMENT_KEY.format(t='l')}, m.old_state AS disposition, -1 AS delta "
        "FROM moved m JOIN locked l ON l.id = m.comment_id "
        f"UNION ALL SELECT {COMMENT_KEY.format(t='l')}, m.new_state, 1 "
        "FROM moved m JOIN locked l ON l.id = m.comment_id"
    )


# (trigger, table, event, transition tables, function body)
TRIGGERS = [
    (
        "comment_count_insert",
        "comments_comment",
        "INSERT",
        "NEW TABLE AS new_rows",
        UPSERT.format(deltas=comment_rows("new_rows", 1)),
    ),
    (
        "comment_count_update",
        "comments_comment",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        COMMENT_UPDATE,
    ),
    (
        "comment_count_delete",
        "comments_comment",
        "DELETE",
        "OLD TABLE AS old_rows",
        UPSERT.format(deltas=comment_rows("old_rows", -1)),
    ),
    (
        "comment_count_disposition_insert",
        "consolidation_disposition",
        "INSERT",
        "NEW TABLE AS new_rows",
        disposition_body("insert"),
    ),
    (
        "comment_count_disposition_update",
        "consolidation_disposition",
        "UPDATE",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
        disposition_body("update"),
    ),
    (
        "comment_count_disposition_delete",
        "consolidation_disposition",
        "DELETE",
        "OLD TABLE AS old_rows",
        disposition_body("delete"),
    ),
]

STATE_FUNCTION = """
CREATE OR REPLACE FUNCTION comment_count_state(decision text, proposed text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN decision IS NULL THEN 'none' WHEN decision <> '' THEN decision
                WHEN proposed <> '' THEN 'proposed' ELSE 'none' END
$$;
"""

FILL = f"""
INSERT INTO consolidation_commentcount ({KEY}, n)
SELECT {COMMENT_KEY.format(t="c")}, comment_count_state(d.decision, d.proposed_decision), count(*)
FROM comments_comment c LEFT JOIN consolidation_disposition d ON d.comment_id = c.id
GROUP BY 1, 2, 3, 4, 5, 6, 7;
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(STATE_FUNCTION, params=None)
    for name, table, event, transition, body in TRIGGERS:
        schema_editor.execute(trigger_function(name, body), params=None)
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {name} ON {table}; "
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transition} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}();",
            params=None,
        )
    schema_editor.execute(FILL, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, *_rest in TRIGGERS:
        schema_editor.execute(
            f"DROP TRIGGER IF EXISTS {name} ON {table}; DROP FUNCTION IF EXISTS {name}();", params=None
        )
    schema_editor.execute("DROP FUNCTION IF EXISTS comment_count_state(text, text);", params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0005_invitation_moves_to_consultations"),
        ("consolidation", "0004_report_kinds_draft"),
        ("consultations", "0003_round_state_without_consolidation_stages"),
        ("comments", "0005_comment_section_organisation_index"),
    ]

    operations = [
        migrations.CreateModel(
            name="CommentCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("status", models.CharField(max_length=10)),
                ("type", models.CharField(max_length=2)),
                ("is_hidden", models.BooleanField()),
                ("disposition", models.CharField(max_length=20)),
                ("n", models.IntegerField(default=0)),
                (
                    "organisation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="accounts.organisation"
                    ),
                ),
                (
                    "round",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="consultations.engagementround",
                    ),
                ),
                (
                    "section",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="+", to="consultations.section"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("round", "section", "organisation", "status", "type", "is_hidden", "disposition"),
                        name="comment_count_one_row_per_cell",
                    )
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
