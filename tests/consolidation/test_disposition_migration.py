"""Disposition moved from comments to consolidation: the migration keeps every row and its links."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from comments.models import Comment
from consolidation.models import Disposition
from tests import factories

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

BEFORE = [("comments", "0003_reply_without_moderation_fields"), ("consolidation", "0002_job_leases")]


def _tables() -> set[str]:
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


def _comment(engagement_round, author, n: int) -> Comment:
    section = engagement_round.version.sections.order_by("position").first()
    return Comment.objects.create(
        round=engagement_round,
        section=section,
        author=author,
        organisation_id=author.organisation_id,
        body=f"Comment {n}.",
        status=Comment.Status.SUBMITTED,
    )


def test_dispositions_written_in_comments_are_consolidations_after_the_move(open_round, vn_delegate, secretariat):
    decided, proposed = _comment(open_round, vn_delegate, 1), _comment(open_round, vn_delegate, 2)
    later_section = factories.SectionFactory(version=open_round.version, key="later", position=99)

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    assert "comments_disposition" in _tables()
    old_apps = executor.loader.project_state(BEFORE).apps
    OldDisposition = old_apps.get_model("comments", "Disposition")
    OldDisposition.objects.create(
        comment_id=decided.pk,
        decision="accepted",
        response="Done in 2.1.",
        decided_by_id=secretariat.pk,
        section_change_id=later_section.pk,
        revision=3,
    )
    OldDisposition.objects.create(comment_id=proposed.pk, proposed_decision="noted", proposed_response="Noted.")

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    tables = _tables()
    assert "consolidation_disposition" in tables
    assert "comments_disposition" not in tables
    rows = {d.comment_id: d for d in Disposition.objects.select_related("comment", "section_change")}
    assert set(rows) == {decided.pk, proposed.pk}
    assert (rows[decided.pk].decision, rows[decided.pk].response, rows[decided.pk].revision) == (
        "accepted",
        "Done in 2.1.",
        3,
    )
    assert rows[decided.pk].decided_by_id == secretariat.pk
    assert rows[decided.pk].section_change == later_section
    assert (rows[proposed.pk].proposed_decision, rows[proposed.pk].decision) == ("noted", "")
    assert Comment.objects.get(pk=decided.pk).disposition.decision == "accepted"  # the reverse accessor too
    # New rows take the next id of the same sequence.
    fresh = Disposition.objects.create(comment=_comment(open_round, vn_delegate, 3), decision="noted")
    assert fresh.pk > max(rows[decided.pk].pk, rows[proposed.pk].pk)
    with connection.cursor() as cursor:
        indexes = connection.introspection.get_constraints(cursor, "consolidation_disposition")
    assert "consolidati_decisio_a20d2d_idx" in indexes


def test_the_move_can_be_undone(open_round, vn_delegate):
    comment = _comment(open_round, vn_delegate, 1)
    Disposition.objects.create(comment=comment, decision="noted", response="Kept.")

    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old_apps = executor.loader.project_state(BEFORE).apps
    assert old_apps.get_model("comments", "Disposition").objects.get(comment_id=comment.pk).response == "Kept."
    assert "consolidation_disposition" not in _tables()

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Disposition.objects.get(comment=comment).response == "Kept."
