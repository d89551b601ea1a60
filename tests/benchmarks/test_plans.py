"""The bench's EXPLAIN check (benchmarks.plans): what a plan's shape keeps and what it drops."""

import pytest
from django.db import connection

from benchmarks.plans import Plan, _shape, compare, explain, plans_of
from comments.models import Comment

pytestmark = pytest.mark.postgres


def node(kind: str, *children, **fields) -> dict:
    return {"Node Type": kind, "Plans": list(children), "Actual Rows": 3, "Total Cost": 9.5, **fields}


def test_a_shape_keeps_nodes_relations_and_indexes_but_no_size():
    big = node("Limit", node("Index Scan", **{"Relation Name": "comments_comment", "Index Name": "ix"}))
    small = dict(big, **{"Actual Rows": 1, "Total Cost": 1.0})
    assert _shape(big) == _shape(small) == "Limit(Index Scan comments_comment/ix)"
    assert _shape(node("Limit", node("Seq Scan", **{"Relation Name": "comments_comment"}))) != _shape(big)


def test_an_append_of_one_subplan_per_cell_is_that_subplan():
    scan = node("Limit", node("Index Scan", **{"Relation Name": "comments_comment", "Index Name": "ix"}))
    assert _shape(node("Append", scan, scan, scan)) == _shape(scan)
    mixed = node("Append", scan, node("Seq Scan", **{"Relation Name": "comments_comment"}))
    assert _shape(mixed).startswith("Append(")


def test_compare_names_the_queries_whose_plans_differ():
    a, b = Plan("q1", "Index Scan t/ix", 1.0, 1), Plan("q1", "Seq Scan t", 9.0, 1)
    assert compare([a, a], [a, a]) == []
    assert compare([a, a], [a, b]) == [{"query": 1, "sql": "q1", "big": a.shape, "small": b.shape}]
    assert compare([a], [a, a]) == [{"queries": [1, 2]}]


@pytest.mark.django_db
def test_plans_of_explains_every_select_a_call_issues():
    captured = plans_of(lambda: (list(Comment.objects.all()[:1]), Comment.objects.count()))
    assert len(captured) == 2
    assert all("comments_comment" in p.shape for p in captured)
    assert explain("SELECT 1").rows == 1
    assert connection.vendor == "postgresql"
