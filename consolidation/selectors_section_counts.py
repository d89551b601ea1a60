"""How many comments a person may see on each section of a round: the contents' and version page's counts.

One aggregate query whatever the round's size. On PostgreSQL it sums consolidation.CommentCount
(kept by triggers, per round, section, organisation, status, type, hidden flag and disposition)
under the viewer's visibility, which comments.selectors.visibility_filter states in the three
columns the counts are keyed by (organisation, status, hidden flag); an organiser, a delegate
of a round that shows others' comments and one that does not are all expressible there, so
nobody is counted from the comments themselves. Elsewhere (SQLite, no triggers) it groups the
visible comments by section, as the feedback page does there.

Pages ask through consultations.signals.section_comment_counts (consolidation.receivers), so
that consultations' version page and comments' section page show counts without importing this
app.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Count, Sum

from comments.models import Comment
from comments.selectors import visibility_filter
from consultations.models import EngagementRound

from .models import CommentCount
from .services.counts import maintained


def visible_counts_by_section(
    *, user, engagement_round: EngagementRound, now: datetime | None = None
) -> dict[int, int]:
    """{section id: comments of the round `user` may see on it}; sections without any are left out."""
    condition = visibility_filter(user=user, engagement_round=engagement_round, now=now)
    if condition is None:
        return {}
    rows: Iterable[tuple[int, int]]
    if maintained():
        rows = (
            CommentCount.objects.filter(condition, round=engagement_round, n__gt=0)
            .values_list("section_id")
            .annotate(total=Sum("n"))
            .order_by()
        )
    else:
        rows = (
            Comment.objects.filter(condition, round=engagement_round)
            .values_list("section_id")
            .annotate(total=Count("id"))
            .order_by()
        )
    return {section_id: total for section_id, total in rows if total}
