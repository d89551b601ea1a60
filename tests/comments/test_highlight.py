"""The section text as HTML: paragraphs with their offsets, highlighted passages, escaping."""

import re
from types import SimpleNamespace

from comments.highlight import render_section_text


def _comment(pk, start, end):
    return SimpleNamespace(pk=pk, position_start=start, position_end=end)


def _offsets(html):
    return [int(n) for n in re.findall(r'<p data-offset="(\d+)">', html)]


def test_paragraphs_are_split_on_blank_lines_with_their_offsets_in_the_body():
    body = "First paragraph,\nwith a line break.\n\nSecond one.\n   \n\nThird."

    html = render_section_text(body, [])

    assert _offsets(html) == [0, body.index("Second"), body.index("Third")]
    assert '<p data-offset="0">First paragraph,\nwith a line break.</p>' in html


def test_anchored_passage_is_marked_with_the_comment_id():
    body = "Member states will extend 5G coverage to all urban areas by 2028."
    start = body.index("5G coverage")

    html = render_section_text(body, [_comment(12, start, start + len("5G coverage"))])

    assert 'extend <mark class="anchor" data-comments="12" id="anchor-12">5G coverage</mark> to all' in html


def test_overlapping_passages_are_split_into_segments_listing_every_comment():
    body = "abcdefghij"

    html = render_section_text(body, [_comment(12, 2, 6), _comment(15, 4, 8)])

    assert html == (
        '<p data-offset="0">ab'
        '<mark class="anchor" data-comments="12" id="anchor-12">cd</mark>'
        '<mark class="anchor" data-comments="12 15" id="anchor-15">ef</mark>'
        '<mark class="anchor" data-comments="15">gh</mark>'
        "ij</p>"
    )


def test_two_comments_on_the_same_passage_each_get_a_link_target():
    html = render_section_text("abcdef", [_comment(3, 1, 4), _comment(4, 1, 4)])

    assert '<span class="anchor-target" id="anchor-4"></span>' in html
    assert '<mark class="anchor" data-comments="3 4" id="anchor-3">bcd</mark>' in html


def test_a_passage_across_paragraphs_is_closed_and_reopened_at_the_paragraph_boundary():
    body = "One two.\n\nThree four."

    html = render_section_text(body, [_comment(7, 4, 15)])

    assert html == (
        '<p data-offset="0">One <mark class="anchor" data-comments="7" id="anchor-7">two.</mark></p>\n'
        '<p data-offset="10"><mark class="anchor" data-comments="7">Three</mark> four.</p>'
    )


def test_text_is_escaped_even_inside_marks():
    body = "Before <script>alert('x')</script> & after"
    start = body.index("<script>")

    html = render_section_text(body, [_comment(1, start, start + 8)])

    assert "<script>" not in html
    assert '<mark class="anchor" data-comments="1" id="anchor-1">&lt;script&gt;</mark>' in html
    assert "&amp; after" in html


def test_offsets_count_code_points_so_an_emoji_before_an_anchor_does_not_shift_it():
    body = "Connectivity 📶🚀 for all.\n\n🌏 Regional data centres."
    start = body.index("data centres")  # code points, as in the browser-side Array.from

    html = render_section_text(body, [_comment(5, start, start + len("data centres"))])

    assert _offsets(html) == [0, 26]  # 28 in UTF-16 units: each emoji before it counts once
    assert '🌏 Regional <mark class="anchor" data-comments="5" id="anchor-5">data centres</mark>.' in html


def test_carriage_returns_stay_in_the_text_so_browser_offsets_match():
    html = render_section_text("line one\r\nline two", [])

    assert html == '<p data-offset="0">line one&#13;\nline two</p>'


def test_anchors_outside_the_text_and_section_wide_comments_are_not_drawn():
    html = render_section_text("short", [_comment(1, 2, 99), _comment(2, None, None)])

    assert html == '<p data-offset="0">short</p>'


def test_empty_body_renders_nothing():
    assert render_section_text("", []) == ""
