"""The section page in tests: its URLs, an anchor on a passage, a section full of comments."""

from django.urls import reverse

from comments.models import Comment, Reply
from tests.helpers.drafts import FIVE_G

SLUG = "adm-2030"
BODY = FIVE_G


def section_url(key="infra-5g", number="0.1"):
    return reverse("comments:section", args=[SLUG, number, key])


def create_url(engagement_round, key="infra-5g", slug=SLUG):
    return reverse("comments:create", args=[slug, engagement_round.pk, key])


def anchor(exact, start=None, end=None, body=BODY):
    start = body.index(exact) if start is None else start
    end = start + len(exact) if end is None else end
    return {
        "quote_exact": exact,
        "quote_prefix": body[max(0, start - 32) : start],
        "quote_suffix": body[end : end + 32],
        "position_start": start,
        "position_end": end,
    }


def add_comments(engagement_round, author, org, count):
    section = engagement_round.version.sections.get(key="infra-5g")
    comments = Comment.objects.bulk_create(
        Comment(
            round=engagement_round,
            section=section,
            author=author,
            organisation=org,
            body=f"Comment {n}",
            status=Comment.Status.SUBMITTED if n % 2 else Comment.Status.DRAFT,
            is_endorsed=n % 5 == 0,
            **(anchor("5G coverage") if n % 3 else {}),
        )
        for n in range(count)
    )
    Reply.objects.bulk_create(
        Reply(comment=c, author=author, organisation=org, body="A reply.") for c in comments for _ in range(2)
    )
