"""Line numbers on the reading pages: a toggle, numbers beside the wrapped lines, highlights kept."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from comments.models import Comment
from consultations import selectors, services
from consultations.models import Section

pytestmark = pytest.mark.django_db

SLUG = "adm-2030"
LONG = (
    "Member states will extend 5G coverage to all urban areas by 2028 and to rural areas by 2030, "
    "sharing towers and spectrum where a single network would serve a community better than several.\n\n"
    "The secretariat reports each year on coverage, prices and the digital skills of the population."
)


def _section_url(key="infra-5g", number="0.1"):
    return reverse("comments:section", args=[SLUG, number, key])


def _version_url(number="0.1"):
    return reverse("consultations:version", args=[SLUG, number])


@pytest.fixture
def long_clause(version):
    Section.objects.filter(version=version, key="infra-5g").update(body=LONG)
    return version.sections.get(key="infra-5g")


def _numbers(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'class="line" data-line="(\d+)"', html)]


def test_line_numbers_are_off_until_the_reader_asks_and_stay_on_for_the_session(
    client, vn_delegate, open_round, long_clause
):
    client.force_login(vn_delegate)
    lines = selectors.lines_of_version(version=long_clause.version).sections[long_clause.pk]

    off = client.get(_section_url()).content.decode()
    assert _numbers(off) == []
    assert '<a href="?lines=on" rel="nofollow">Show line numbers</a>' in off

    on = client.get(_section_url() + "?lines=on").content.decode()
    assert _numbers(on) == [n for n, _s, _e in lines.numbered_body()]
    assert len(_numbers(on)) == 5  # three lines and two at 80 characters
    assert f'class="numbered-lines" data-line="{lines.first_line}"' in on  # the heading's line
    assert '<a href="?lines=off" rel="nofollow">Hide line numbers</a>' in on
    assert "(80 characters a line)" in on

    # The choice is remembered: the next section is numbered too, without asking again.
    other = client.get(_section_url("infra-dc")).content.decode()
    assert len(_numbers(other)) == 1
    assert _numbers(other)[0] > lines.last_line

    assert _numbers(client.get(_section_url() + "?lines=off").content.decode()) == []
    assert _numbers(client.get(_section_url()).content.decode()) == []


def test_each_numbered_line_holds_the_text_of_that_line_and_highlights_stay(
    client, vn_delegate, open_round, long_clause, orgs
):
    # A comment from "rural areas" on the first line to "single network" on the second.
    start, end = LONG.index("rural areas"), LONG.index("single network") + len("single network")
    comment = Comment.objects.create(
        round=open_round,
        section=long_clause,
        author=vn_delegate,
        organisation=orgs["vn"],
        type="te",
        body="Say which rural areas.",
        status=Comment.Status.SUBMITTED,
        quote_exact=LONG[start:end],
        position_start=start,
        position_end=end,
    )
    client.force_login(vn_delegate)
    html = client.get(_section_url() + "?lines=on").content.decode()
    lines = selectors.lines_of_version(version=long_clause.version).sections[long_clause.pk]

    text = html[html.index('id="section-text"') :]
    text = text[: text.index("</div>")]
    spans = re.findall(r'<span class="line" data-line="(\d+)">(.*?)</span>(?=<span class="line"|</p>)', text)
    expected = [(str(n), LONG[s:e]) for n, s, e in lines.numbered_body()]
    assert [(n, re.sub(r"<[^>]+>", "", body)) for n, body in spans] == expected
    # The passage is marked on both lines it spans, never across a line's end.
    marked = [n for n, body in spans if f'data-comments="{comment.pk}"' in body]
    assert marked == [str(lines.first_body_line), str(lines.first_body_line + 1)]
    # The paragraphs keep their offsets: the anchoring script counts from them as before.
    assert '<p data-offset="0">' in text and f'<p data-offset="{LONG.index("The secretariat")}">' in text
    assert str(lines.range_for(start, end)) == f"{lines.first_body_line}-{lines.first_body_line + 1}"


def test_the_toggle_keeps_the_comment_filter(client, vn_delegate, open_round, long_clause):
    client.force_login(vn_delegate)
    html = client.get(_section_url() + "?type=ed&page=1").content.decode()
    assert 'href="?type=ed&amp;page=1&amp;lines=on"' in html


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("page", ["section", "version"])
def test_numbers_on_cost_no_query_more_than_numbers_off(client, vn_delegate, open_round, long_clause, page):
    url = _section_url() if page == "section" else _version_url()
    client.force_login(vn_delegate)
    client.get(url)  # warm up per-process caches
    off = _queries(client, url)
    switching = _queries(client, url + "?lines=on")  # the session remembers the choice: one save
    on = _queries(client, url)
    assert on == off
    assert switching <= off + 3  # the session save: a savepoint, its UPDATE, the release


def test_a_published_version_shows_the_numbers_it_was_published_with(
    client, vn_delegate, consultant, version, settings
):
    settings.LINE_LENGTH = 40
    draft = services.version_copy_for_editing(actor=consultant, source=version, number="0.2")
    Section.objects.filter(version=draft, key="infra-5g").update(body=LONG)
    services.version_publish(actor=consultant, version=draft)
    clause = draft.sections.get(key="infra-5g")
    settings.LINE_LENGTH = 80

    client.force_login(vn_delegate)
    html = client.get(_section_url(number="0.2") + "?lines=on").content.decode()

    assert _numbers(html)[0] == clause.first_line + 1  # the heading holds the first line
    assert len(_numbers(html)) == clause.line_count - 1 > 4  # wrapped at 40, as published
    assert "(40 characters a line)" in html


def test_the_version_page_numbers_the_whole_document(client, vn_delegate, version, long_clause):
    client.force_login(vn_delegate)
    html = client.get(_version_url() + "?lines=on").content.decode()
    numbered = selectors.lines_of_version(version=version).sections
    headings = [int(n) for n in re.findall(r'<h[234] id="h-[\w-]+" data-line="(\d+)"', html)]
    assert headings == [lines.first_line for lines in numbered.values()]
    body_numbers = _numbers(html)
    assert body_numbers == [n for lines in numbered.values() for n, _s, _e in lines.numbered_body()]
    # Together, headings and lines count every line once, from 1.
    assert sorted(headings + body_numbers) == list(range(1, max(body_numbers) + 1))
    assert "Hide line numbers" in html
    assert 'data-line="' not in client.get(_version_url() + "?lines=off").content.decode()
