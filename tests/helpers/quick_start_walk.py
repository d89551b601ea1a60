"""What a first look at `make run` does, run on its SQLite database by tests/demo/test_quick_start.py.

Called in a process of its own on config.settings.local (SQLite, Celery eager), after
`manage.py migrate` and `manage.py seed_demo`: the secretariat and a delegate open every page
they can reach from the home page (following links, up to PAGES each), the delegate writes a
comment, the secretariat consolidates the demo's closed round again and asks for each of its
reports. Prints one line per problem and "walked" at the end; the test reads that.
"""

from __future__ import annotations

import re
from collections import deque

from django.conf import settings
from django.test import Client
from django.urls import reverse

PAGES = 120
SKIPPED = ("logout", "/static/", "/admin/", "delete", "/media/", "/download/")


def _walk(client: Client, problems: list[str], who: str) -> int:
    seen: set[str] = set()
    todo = deque(["/"])
    while todo and len(seen) < PAGES:
        url = todo.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code >= 500:
            problems.append(f"{who}: GET {url} answered {response.status_code}")
        elif response.status_code in (301, 302) and response["Location"].startswith("/"):
            todo.append(response["Location"])
        elif response.status_code == 200 and "html" in response.get("Content-Type", ""):
            for href in re.findall(r'href="(/[^"#]*)"', response.content.decode()):
                href = href.replace("&amp;", "&")
                if href not in seen and not any(part in href for part in SKIPPED):
                    todo.append(href)
    return len(seen)


def _counted_as_stored(run) -> list[str]:
    """What the run counted against the comments as the ORM reads them: totals, order, flags."""
    from django.db.models import F

    from comments.models import Comment
    from consolidation.selectors_runs import listed_comment_ids

    submitted = Comment.objects.filter(round=run.round, status=Comment.Status.SUBMITTED)
    ordered: dict[int, list[int]] = {}
    rows = submitted.order_by(F("position_start").asc(nulls_last=True), "created_at", "id")
    for section_id, comment_id in rows.values_list("section_id", "id"):
        ordered.setdefault(section_id, []).append(comment_id)
    found = []
    if run.result["totals"]["comments"] != submitted.count():
        found.append(f"run counted {run.result['totals']['comments']} comments of {submitted.count()}")
    if listed_comment_ids(run=run) != ordered:
        found.append("run listed the comments in another order")
    hidden = sorted(submitted.filter(is_hidden=True).values_list("id", flat=True))
    if run.result["hidden_ids"] != hidden:
        found.append(f"run's hidden comments {run.result['hidden_ids']} are not {hidden}")
    for position in run.result["national_positions"]:
        organisation_id, ids = position["organisation"], position["endorsed_ids"]
        endorsed = submitted.filter(is_endorsed=True, organisation_id=organisation_id).order_by("id")
        stored = list(endorsed.values_list("id", flat=True))
        if ids != stored:
            found.append(f"national position of {organisation_id}: {ids} is not {stored}")
    return found


def main() -> None:
    from accounts.models import User
    from comments.models import Comment
    from consolidation.models import ConsolidationRun, JobStatus, Report
    from consultations.models import EngagementRound

    settings.ALLOWED_HOSTS = ["*"]
    problems: list[str] = []
    secretariat = User.objects.get(email="secretariat@example.org")
    delegate = User.objects.get(email="vn.delegate@example.org")
    clients = {}
    for user in (secretariat, delegate):
        clients[user.email] = client = Client(raise_request_exception=False)
        client.force_login(user)
        pages = _walk(client, problems, user.email)
        if pages < 20:
            problems.append(f"{user.email}: only {pages} pages reached")

    open_round = EngagementRound.objects.filter(state=EngagementRound.State.OPEN).order_by("pk").first()
    if open_round is None:
        problems.append("no open round in the demo")
    else:
        section = open_round.version.sections.order_by("position").first()
        url = reverse("comments:create", args=[open_round.consultation.slug, open_round.pk, section.key])
        before = Comment.objects.count()
        fields = {"type": "ge", "language": "en", "action": "submit", "body": "A first look at the demo."}
        response = clients[delegate.email].post(url, fields)
        if response.status_code != 302 or Comment.objects.count() != before + 1:
            problems.append(f"writing a comment answered {response.status_code}")

    closed = ConsolidationRun.objects.filter(status=JobStatus.DONE).order_by("pk").first()
    if closed is None:
        problems.append("the demo has no consolidation")
    else:
        engagement_round = closed.round
        slug = engagement_round.consultation.slug
        edited = Comment.objects.filter(round=engagement_round, status=Comment.Status.SUBMITTED).first()
        Comment.objects.filter(pk=edited.pk).update(body=edited.body + " (edited)", revision=edited.revision + 1)
        client = clients[secretariat.email]
        response = client.post(reverse("consolidation:run_create", args=[slug, engagement_round.pk]))
        latest = ConsolidationRun.objects.filter(round=engagement_round).order_by("-pk").first()
        if response.status_code >= 400 or latest.pk == closed.pk or latest.status != JobStatus.DONE:
            problems.append(f"consolidating again: {response.status_code}, {latest.status}: {latest.error}")
        else:
            problems += _counted_as_stored(latest)
        for kind, fmt in [
            (Report.Kind.RESOLUTION_MATRIX, "xlsx"),
            (Report.Kind.RESOLUTION_MATRIX, "csv"),
            (Report.Kind.CONSOLIDATED_FEEDBACK, "docx"),
        ]:
            before = Report.objects.count()
            response = client.post(
                reverse("consolidation:report_create", args=[slug]),
                {"what": f"{kind}:{fmt}", "engagement_round": engagement_round.pk},
            )
            report = Report.objects.order_by("-pk").first()
            if Report.objects.count() != before + 1 or report.status != JobStatus.DONE:
                problems.append(f"report {kind} {fmt}: {response.status_code}, {report.status}: {report.error}")
    for problem in problems:
        print("PROBLEM", problem)
    print("walked")
