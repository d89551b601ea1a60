"""The draft PDF's margin: comments beside their lines, never stretching them, none lost at a page break.

Written from a read model made here (no database): a section of twelve paragraphs with forty
comments on it, one of them longer than a page.
"""

from datetime import UTC, datetime

import pytest

from consolidation.documents.draft_pdf import write_draft_pdf
from consolidation.selectors_draft import DraftComment, DraftDocument, DraftLine, DraftSection, _paragraph_lines
from consultations.line_numbers import SectionText, number_document
from tests.helpers.pdf import words

NOW = datetime(2026, 11, 1, tzinfo=UTC)
PARAGRAPH = " ".join(["Operators shall publish coverage maps every six months and regulators shall review them."] * 4)
THAI = "ประเทศไทยขอเสนอให้แก้ไขถ้อยคำในวรรคนี้ให้ชัดเจนยิ่งขึ้น "


def document() -> DraftDocument:
    body = "\n\n".join(f"P{i}. {PARAGRAPH}" for i in range(12))
    lines = number_document([SectionText(1, "3.1", "Infrastructure", body)], width=80)[1]
    comments = []
    for k in range(40):
        start = body.index(f"P{k % 12}. ")
        repeat = 60 if k == 3 else 1 + k % 3  # comment 3 is longer than a page's margin
        comments.append(
            DraftComment(
                pk=k,
                number=f"C-{k}",
                organisation="Org",
                type="te",
                type_label="te",
                body=THAI * repeat + f"END{k}",
                proposed_change="",
                quote="",
                lines=lines.range_for(start, start + 3),
                start=start,
                end=start + 3,
                is_endorsed=False,
                is_hidden=False,
                updated_at=NOW,
            )
        )
    comments.sort(key=lambda c: (c.lines.first, c.pk))
    section = DraftSection(
        pk=1,
        depth=1,
        label="3.1 Infrastructure",
        body=body,
        heading_lines=tuple(DraftLine(n, s, e) for n, s, e in lines.numbered_heading()),
        paragraphs=_paragraph_lines(body, lines),
        comments=tuple(comments),
    )
    return DraftDocument(
        consultation_title="Plan",
        version_number="2",
        version_title="",
        published_at=NOW,
        line_length=80,
        total_lines=lines.last_line,
        with_comments=True,
        round_title="",
        section_count=1,
        comment_count=len(comments),
        as_of=NOW,
        sections=(section,),
    )


@pytest.mark.fonts
@pytest.mark.poppler
def test_every_comment_is_printed_once_beside_or_below_its_line_across_pages(tmp_path):
    draft = document()
    path = tmp_path / "draft.pdf"
    with path.open("wb") as out:
        pages = write_draft_pdf(draft, out, compress=False)
    assert pages >= 3
    printed = words(path)
    ends = [token for w in printed for token in w.text.split() if token.startswith("END")]
    # Every comment whole and once, the long one too (split across pages, not cut off).
    assert sorted(ends) == sorted(f"END{c.pk}" for c in draft.sections[0].comments)

    number_column_end = (15 + 11) * 72 / 25.4 + 6
    line_at = {int(w.text): (w.page, w.top) for w in printed if w.text.isdigit() and w.right <= number_column_end}
    heads = {w.text: (w.page, w.top) for w in printed if w.text.startswith("C-")}
    for comment in draft.sections[0].comments:
        page, top = heads[comment.number]
        line_page, line_top = line_at[comment.lines.first]
        # Never above the line it is on; lower only when the comments before it fill the margin.
        assert (page, top) >= (line_page, line_top - 0.5), comment.number
    first = draft.sections[0].comments[0]
    assert heads[first.number] == pytest.approx(line_at[first.lines.first], abs=1.5)

    # The margin's comments never overlap: each starts below the end of the one before it.
    end_at = {token: (w.page, w.bottom) for w in printed for token in w.text.split() if token.startswith("END")}
    boxes = sorted(
        (heads[c.number][0], heads[c.number][1], end_at[f"END{c.pk}"][1])
        for c in draft.sections[0].comments
        if end_at[f"END{c.pk}"][0] == heads[c.number][0]  # the long one goes on over the page
    )
    for (page, _top, bottom), (next_page, next_top, _bottom) in zip(boxes, boxes[1:], strict=False):
        assert page != next_page or next_top >= bottom - 1
