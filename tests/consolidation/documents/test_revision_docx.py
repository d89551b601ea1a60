"""The revision report DOCX as a secretariat works in it: tracked changes to accept or reject,
each change's dispositions beside it, headings, tables, page numbers, properties, language.

The file is read back as Word reads it (tests/helpers/word.py): accepting every change must
give the new version's text, rejecting every change the old one.
"""

import io
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone, translation
from docx.oxml.ns import qn

from comments.models import Comment
from consolidation.documents.revision_docx import write_revision_docx
from consolidation.selectors_revision import revision_report
from consolidation.services.carry_over import carry_over_comments
from consultations.models import DraftVersion
from tests import factories
from tests.factories import CommentFactory
from tests.helpers.carry_over import LEGACY, NEW_5G, NEW_CYBER, NEW_DC, OLD_5G, OLD_CYBER, OLD_DC, build_world
from tests.helpers.services import soffice_path
from tests.helpers.word import accept_all, convert_with_libreoffice, open_docx, paragraph_text, paragraphs, reject_all

pytestmark = pytest.mark.django_db

VI_OLD = "Các quốc gia thành viên sẽ mở rộng vùng phủ sóng 5G."
VI_NEW = "Các quốc gia thành viên sẽ nhanh chóng mở rộng vùng phủ sóng 5G."
PARAS_OLD = "Skills are a shared priority.\n\nEach state reports every year."
PARAS_NEW = "Skills are a shared priority.\n\nA regional academy trains teachers.\n\nEach state reports twice a year."
PUBLISHED = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)


@pytest.fixture
def world(consultation, version, vn_delegate, th_delegate):
    world = build_world(consultation, version, vn_delegate, th_delegate)
    new = world["new"]
    DraftVersion.objects.filter(pk=new.pk).update(published_at=PUBLISHED)
    new.refresh_from_db()
    for key, number, heading, old_body, new_body, position in (
        ("vi", "2", "Hạ tầng số", VI_OLD, VI_NEW, 20),
        ("skills", "3", "Digital skills", PARAS_OLD, PARAS_NEW, 21),
    ):
        factories.SectionFactory(
            version=version, key=key, number=number, heading=heading, body=old_body, position=position, depth=0
        )
        factories.SectionFactory(
            version=new, key=key, number=number, heading=heading, body=new_body, position=position, depth=0
        )
    decided = world["comments"]["decided"].disposition
    decided.section_change = new.sections.get(key="infra-dc")
    decided.response = "Noted: the clause now names the data centres."
    decided.save()
    CommentFactory(
        section=version.sections.get(key="vi"),
        round=world["round"],
        author=vn_delegate,
        status=Comment.Status.SUBMITTED,
        body="Đề nghị bổ sung vùng nông thôn.",
    )
    carry_over_comments(version_id=new.pk)
    return world


def docx_bytes(report) -> bytes:
    buffer = io.BytesIO()
    write_revision_docx(report, buffer)
    return buffer.getvalue()


@pytest.fixture
def made(world, secretariat):
    return docx_bytes(revision_report(user=secretariat, version=world["new"]))


def body(data: bytes):
    return open_docx(data).element.body


def test_the_redline_is_tracked_insertions_and_deletions_by_the_platform_at_publication(made):
    root = body(made)
    five_g = next(p for p in root.iterfind(qn("w:p")) if "Member states will extend" in paragraph_text(p))
    inserted = [paragraph_text(ins) for ins in five_g.iter(qn("w:ins"))]
    deleted = [paragraph_text(d) for d in five_g.iter(qn("w:del"))]
    assert "and peri-urban " in inserted and "2030" in inserted
    assert deleted == ["2028"]
    assert [t.text for t in five_g.iter(qn("w:delText"))] == ["2028"]  # deleted text is w:delText, never w:t
    for change in [*five_g.iter(qn("w:ins")), *five_g.iter(qn("w:del"))]:
        assert change.get(qn("w:author")) == settings.SITE_NAME
        assert change.get(qn("w:date")) == "2025-03-14T09:30:00Z"
    # No colour or strike of its own: accepting a change leaves plain text.
    assert not five_g.findall(f".//{qn('w:color')}") and not five_g.findall(f".//{qn('w:strike')}")
    ids = [c.get(qn("w:id")) for c in root.iter(qn("w:ins"), qn("w:del"))]
    assert len(ids) == len(set(ids)) > 10


def test_accepting_every_change_gives_the_new_text_and_rejecting_every_change_the_old(made):
    accepted, rejected = paragraphs(accept_all(body(made))), paragraphs(reject_all(body(made)))

    for text in (NEW_5G, NEW_DC, NEW_CYBER, VI_NEW, *PARAS_NEW.split("\n\n")):
        assert text in accepted, text
    for text in (OLD_5G, OLD_CYBER, VI_OLD, LEGACY, OLD_DC):
        assert text not in accepted, text
    for text in (OLD_5G, OLD_DC, OLD_CYBER, VI_OLD, LEGACY, *PARAS_OLD.split("\n\n")):
        assert text in rejected, text
    for text in (NEW_5G, NEW_DC, VI_NEW, "A regional academy trains teachers."):
        assert not any(text in p for p in rejected), text
    # The paragraph added between two others is an inserted paragraph mark: rejected, it leaves none behind.
    start = rejected.index("Skills are a shared priority.")
    assert rejected[start + 1] == "Each state reports every year."
    start = accepted.index("Skills are a shared priority.")
    added = ["A regional academy trains teachers.", "Each state reports twice a year."]
    assert accepted[start + 1 : start + 3] == added
    # A renumbered section's number is a change too: 1.1.2 was 1.1.1.
    assert "[Changed] 1.1.2 5G and 6G networks" in accepted
    assert "[Changed] 1.1.1 5G and 6G networks" in rejected


def test_a_changed_section_is_followed_by_the_dispositions_that_led_to_it_without_repeating_the_decision(made, world):
    document = open_docx(made)
    decided = world["comments"]["decided"]
    blocks = list(document.element.body.iterchildren())
    heading = next(i for i, b in enumerate(blocks) if b.tag == qn("w:p") and "Data centres" in paragraph_text(b))
    table = next(b for b in blocks[heading:] if b.tag == qn("w:tbl"))
    cells = ["\n".join(paragraph_text(p) for p in tc.iterfind(qn("w:p"))) for tc in table.iter(qn("w:tc"))]
    assert cells[:5] == ["No.", "Organisation", "Type", "Comment", "Decision"]
    assert cells[5:8] == [decided.number, "Thailand", decided.get_type_display()]
    assert cells[8].startswith("“Regional data centres”")
    assert cells[9] == "Noted\nthe clause now names the data centres."  # not "Noted: the clause..." after "Noted"


def _level(paragraph) -> int | None:
    name = paragraph.style.name
    if name.startswith("Heading "):
        return int(name.split()[1])
    return None


def test_headings_never_skip_a_level_and_tables_repeat_their_header_and_keep_the_total(made):
    document = open_docx(made)
    levels = [level for p in document.paragraphs if (level := _level(p)) is not None]
    assert levels[0] == 1 and 2 in levels
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:], strict=False)), levels
    for table in document.tables:
        first = table.rows[0]._tr.trPr
        assert first is not None and first.find(qn("w:tblHeader")) is not None
        assert all(row._tr.trPr.find(qn("w:cantSplit")) is not None for row in table.rows)
    decisions = next(t for t in document.tables if t.rows[-1].cells[0].text == "Total")
    for row in decisions.rows[:-1]:
        assert all(p.paragraph_format.keep_with_next for c in row.cells for p in c.paragraphs)


def test_header_footer_page_numbers_and_properties(made):
    document = open_docx(made)
    section = document.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4, not US Letter
    assert section.header.paragraphs[0].text == "ASEAN Digital Masterplan 2030, version 0.2"
    footer = section.footer.paragraphs[0]._p
    instructions = [i.text.strip() for i in footer.iter(qn("w:instrText"))]
    assert instructions == ["PAGE", "NUMPAGES"]
    assert paragraph_text(footer).startswith(f"{settings.SITE_NAME} · Page ")
    core = document.core_properties
    assert core.title == "Revision report, version 0.2"
    assert core.subject == "ASEAN Digital Masterplan 2030, version 0.2"
    assert core.author == core.last_modified_by == settings.SITE_NAME
    assert abs(core.created - timezone.now()) < timedelta(minutes=5)
    assert core.modified == core.created
    assert "revision report" in core.keywords and "0.2" in core.keywords
    assert core.language == "en-GB"


def _default_language(document) -> str:
    lang = document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}")
    return lang.get(qn("w:val"))


def _languages(paragraph) -> set[str]:
    return {lang.get(qn("w:val")) for lang in paragraph.iter(qn("w:lang"))}


def test_the_document_is_in_the_requesters_language_and_vietnamese_text_says_so(world, secretariat):
    english = open_docx(docx_bytes(revision_report(user=secretariat, version=world["new"])))
    assert _default_language(english) == "en-GB"
    vi_body = next(p._p for p in english.paragraphs if "mở rộng vùng phủ sóng" in paragraph_text(p._p))
    assert _languages(vi_body) == {"vi-VN"}
    five_g = next(p._p for p in english.paragraphs if "Member states will extend" in paragraph_text(p._p))
    assert _languages(five_g) == set()  # English in an English document: the default

    with translation.override("vi"):
        vietnamese = open_docx(docx_bytes(revision_report(user=secretariat, version=world["new"])))
    assert _default_language(vietnamese) == "vi-VN"
    assert vietnamese.core_properties.language == "vi-VN"
    vi_body = next(p._p for p in vietnamese.paragraphs if "mở rộng vùng phủ sóng" in paragraph_text(p._p))
    assert _languages(vi_body) == set()


@pytest.mark.libreoffice
def test_libreoffice_opens_it_and_finds_the_tracked_changes(made, tmp_path):
    source = tmp_path / "revision.docx"
    source.write_bytes(made)

    pdf = convert_with_libreoffice(soffice_path(), source, "pdf", tmp_path)
    flat = convert_with_libreoffice(soffice_path(), source, "fodt", tmp_path)

    assert pdf.read_bytes().startswith(b"%PDF-")
    opened = flat.read_text(encoding="utf-8")
    # LibreOffice read the w:ins / w:del as changes it can accept or reject, with their author.
    assert opened.count("<text:changed-region") >= 10
    assert "<text:insertion>" in opened and "<text:deletion>" in opened
    assert f"<dc:creator>{settings.SITE_NAME}</dc:creator>" in opened


def test_the_numbers_and_the_open_comments_with_where_they_landed(made):
    document = open_docx(made)
    numbers = {row.cells[0].text: row.cells[1].text for row in document.tables[0].rows}
    assert (numbers["Sections changed"], numbers["Sections added"], numbers["Sections removed"]) == ("5", "1", "1")
    decisions = {row.cells[0].text: row.cells[1].text for row in document.tables[1].rows}
    assert (decisions["Noted"], decisions["No decision yet"], decisions["Total"]) == ("1", "9", "10")
    # The figures agree with each other (and with the PDF and the revision page): the comments of the
    # earlier rounds are the decision table's total, those still open its "No decision yet".
    assert numbers["Comments of the earlier rounds"] == decisions["Total"]
    assert numbers["Comments still open"] == decisions["No decision yet"]
    labels = [p.text for p in document.paragraphs]
    assert labels.index("Comments by decision") < labels.index("Section by section")
    text = "\n".join(paragraph_text(p) for p in document.element.body.iter(qn("w:p")))
    assert "Đề nghị bổ sung vùng nông thôn." in text
    assert (
        "Passage found, edited: 1.1.2 5G and 6G networks – “extend 5G coverage to all urban and peri-urban areas”"
        in text
    )
    orphans = text.split("Open comments whose passage is no longer in the text")[1]
    assert "Passage no longer in the text" in orphans


def test_what_introduces_a_table_or_a_comment_stays_on_its_page(made):
    """ "Changed in response to" is never the last line of a page with its table on the next, nor is a
    comment's number and author, or its quoted passage, apart from its text."""
    document = open_docx(made)
    blocks = list(document.element.body.iterchildren())
    labels = [i for i, b in enumerate(blocks) if b.tag == qn("w:p") and paragraph_text(b) == "Changed in response to"]
    assert labels
    for index in labels:
        assert blocks[index + 1].tag == qn("w:tbl")
        assert blocks[index].find(f"{qn('w:pPr')}/{qn('w:keepNext')}") is not None
    # A comment's number and author, its passage and its text: lines of one paragraph kept whole.
    blocks = [p for p in document.paragraphs if p.style.name == "List Bullet"]
    assert blocks and all(p.paragraph_format.keep_together for p in blocks)
    lines = [p.text.split("\n") for p in blocks]
    assert all(len(found) >= 2 for found in lines)
    assert any(found[1].startswith("“") and found[1].endswith("”") and len(found) == 3 for found in lines)


def test_a_proposed_change_and_a_response_are_marked_with_their_scripts_language(world, secretariat):
    """In the table beside a change, a Vietnamese proposed change is vi-VN in an English report."""
    decided = world["comments"]["decided"]
    Comment.objects.filter(pk=decided.pk).update(proposed_change="Thêm các trung tâm dữ liệu khu vực.")
    document = open_docx(docx_bytes(revision_report(user=secretariat, version=world["new"])))
    proposed = [
        p
        for table in document.tables
        for cell in table._cells
        for p in cell.paragraphs
        if p.text.startswith("Proposed change:")
    ]
    assert proposed and all(_languages(p._p) == {"vi-VN"} for p in proposed), [_languages(p._p) for p in proposed]
    response = next(
        p for table in document.tables for cell in table._cells for p in cell.paragraphs if "names the data" in p.text
    )
    assert _languages(response._p) == set()  # English, the document's own
