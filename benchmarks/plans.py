"""EXPLAIN at two sizes: does any query of a page change plan as the data grows? (issue 10, line 5)

`page_plans` captures every SELECT a request (or a callable) issues and runs EXPLAIN (ANALYZE,
FORMAT JSON) on it. A plan's *shape* is its tree of node types with the relation and index each
node reads, and nothing that depends on the data's size (rows, costs, loops, times). The same
page on a big round and on a small one should have queries of the same shapes, in the same order;
`compare` lists where they differ.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext


@dataclass(frozen=True)
class Plan:
    sql: str
    shape: str  # e.g. "Limit(Sort(Nested Loop(Index Scan comments_comment/..., ...)))"
    ms: float  # execution time EXPLAIN ANALYZE measured
    rows: int  # rows the top node returned


def _shape(node: dict[str, Any]) -> str:
    label = node["Node Type"]
    if node.get("Strategy") and node["Node Type"] == "Aggregate":
        label += f" {node['Strategy']}"
    if node.get("Join Type") and "Join" in node["Node Type"] or node["Node Type"] == "Nested Loop":
        label += f" {node.get('Join Type', '')}"
    where = "/".join(str(node[k]) for k in ("Relation Name", "Index Name", "CTE Name") if node.get(k))
    if where:
        label += f" {where}"
    shapes = [_shape(child) for child in node.get("Plans", [])]
    if node["Node Type"] == "Append" and len(set(shapes)) == 1:
        # The same subplan once per (section, organisation) cell of a page: as many as the page
        # spans (at most its length), which depends on how comments spread, not on how many.
        return shapes[0]
    children = ", ".join(shapes)
    return f"{label}({children})" if children else label


def explain(sql: str) -> Plan:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
        raw = cursor.fetchone()[0]
    doc = (json.loads(raw) if isinstance(raw, str) else raw)[0]
    top = doc["Plan"]
    return Plan(sql=sql, shape=_shape(top), ms=float(doc.get("Execution Time", 0.0)), rows=int(top["Actual Rows"]))


def _selects(queries: list[dict[str, Any]]) -> list[str]:
    return [q["sql"] for q in queries if q["sql"].lstrip("( ").upper().startswith(("SELECT", "WITH"))]


def plans_of(run: Callable[[], Any]) -> list[Plan]:
    """The plans of the SELECTs `run` issues, in order (run once to warm up, then captured)."""
    run()
    with CaptureQueriesContext(connection) as captured:
        run()
    return [explain(sql) for sql in _selects(captured.captured_queries)]


def page_plans(client: Client, url: str) -> list[Plan]:
    return plans_of(lambda: client.get(url))


def compare(big: list[Plan], small: list[Plan]) -> list[dict[str, Any]]:
    """Where the two runs' plans differ: a different number of queries, or a query of another shape."""
    differences: list[dict[str, Any]] = []
    if len(big) != len(small):
        differences.append({"queries": [len(big), len(small)]})
    for i, (b, s) in enumerate(zip(big, small, strict=False)):
        if b.shape != s.shape:
            differences.append({"query": i, "sql": b.sql[:300], "big": b.shape, "small": s.shape})
    return differences


def summary(plans: list[Plan]) -> list[dict[str, Any]]:
    return [{"ms": round(p.ms, 2), "rows": p.rows, "shape": p.shape, "sql": p.sql[:200]} for p in plans]
