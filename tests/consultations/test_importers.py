"""Reading uploaded drafts (Markdown and DOCX) into section trees."""

import io
import zipfile

import docx
import pytest
from django.core.exceptions import ValidationError
from docx.oxml import OxmlElement
from docx.oxml.ns import qn

from consultations.importers import parse_docx, parse_markdown, parse_upload, split_number


def outline(tree, depth=0):
    """(depth, number, heading, body) for every section, in document order."""
    rows = []
    for draft in tree:
        rows.append((depth, draft.number, draft.heading, draft.body))
        rows.extend(outline(draft.children, depth + 1))
    return rows


def docx_bytes(build) -> bytes:
    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


MARKDOWN = """\
# 1. Strategic outcomes

The masterplan sets out seven desired outcomes.

## 1.1 Seamless and inclusive digital infrastructure

### 1.1.1 5G and 6G networks

Member states will extend 5G coverage
to all urban areas by 2028.

Rural coverage follows by 2030.

- towers on public land
- shared backhaul

### 1.1.2 Data centres

Regional data centres will run on renewable energy.

# 2 Governance
"""


def test_markdown_headings_become_the_section_tree():
    assert outline(parse_markdown(MARKDOWN)) == [
        (0, "1", "Strategic outcomes", "The masterplan sets out seven desired outcomes."),
        (1, "1.1", "Seamless and inclusive digital infrastructure", ""),
        (
            2,
            "1.1.1",
            "5G and 6G networks",
            "Member states will extend 5G coverage to all urban areas by 2028.\n\n"
            "Rural coverage follows by 2030.\n\n"
            "- towers on public land\n- shared backhaul",
        ),
        (2, "1.1.2", "Data centres", "Regional data centres will run on renewable energy."),
        (0, "2", "Governance", ""),
    ]


def test_markdown_levels_are_one_to_three_by_nesting():
    tree = parse_markdown(MARKDOWN)
    assert [d.level for d in tree] == [1, 1]
    assert tree[0].children[0].level == 2
    assert tree[0].children[0].children[0].level == 3


def test_markdown_h3_right_under_h1_becomes_its_child():
    tree = parse_markdown("# Component\n\n### Clause\n\ntext\n\n## Chapter\n")
    assert outline(tree) == [(0, "", "Component", ""), (1, "", "Clause", "text"), (1, "", "Chapter", "")]


def test_markdown_deeper_headings_fold_into_clauses():
    tree = parse_markdown("# A\n## B\n### C\n#### D\n##### E\n")
    assert outline(tree) == [(0, "", "A", ""), (1, "", "B", ""), (2, "", "C", ""), (2, "", "D", ""), (2, "", "E", "")]


def test_markdown_text_before_the_first_heading_becomes_an_introduction():
    tree = parse_markdown("Adopted by the ministers.\n\n# 1 Vision\n\nA connected region.\n")
    assert outline(tree) == [
        (0, "", "Introduction", "Adopted by the ministers."),
        (0, "1", "Vision", "A connected region."),
    ]


def test_markdown_setext_headings_lists_and_tables():
    text = (
        "Vision\n======\n\n* star item\n+ plus item\n\n1. first\n2. second\n   * nested\n\n"
        "| Target | Year |\n|---|---|\n| 5G | 2028 |\n"
    )
    assert outline(parse_markdown(text)) == [
        (0, "", "Vision", "- star item\n\n- plus item\n\n1. first\n2. second\n  - nested\n\nTarget | Year\n5G | 2028")
    ]


def test_markdown_inline_markup_is_dropped_but_link_addresses_stay():
    tree = parse_markdown("# **Bold** heading\n\nSee *the* [annex](https://asean.org/annex).\n")
    assert outline(tree) == [(0, "", "Bold heading", "See the annex (https://asean.org/annex).")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2.3 Data governance", ("2.3", "Data governance")),
        ("2.3. Data governance", ("2.3", "Data governance")),
        ("1 Introduction", ("1", "Introduction")),
        ("2030 Vision", ("", "2030 Vision")),
        ("Data governance", ("", "Data governance")),
        ("2.3", ("", "2.3")),
    ],
)
def test_clause_numbers_are_split_from_headings(text, expected):
    assert split_number(text) == expected


UNICODE = {
    "vi": "Chuyển đổi số toàn diện: Việt Nam đặt mục tiêu phủ sóng 5G ở mọi đô thị.",
    "th": "การเปลี่ยนผ่านสู่ดิจิทัลของภูมิภาค",
    "emoji": "Connectivity for all 🌏📶",
    "rtl": "التحول الرقمي في المنطقة",
}


def test_markdown_keeps_vietnamese_thai_emoji_and_rtl_text():
    text = "".join(f"# 1.{i} {value}\n\n{value}\n\n" for i, value in enumerate(UNICODE.values(), start=1))
    rows = outline(parse_markdown(text))
    assert [(number, heading, body) for _d, number, heading, body in rows] == [
        (f"1.{i}", value, value) for i, value in enumerate(UNICODE.values(), start=1)
    ]


def test_docx_headings_become_the_section_tree_and_the_title_is_skipped():
    def build(document):
        document.add_heading("ASEAN Digital Masterplan 2030", level=0)
        document.add_heading("1. Strategic outcomes", level=1)
        document.add_paragraph("The masterplan sets out seven desired outcomes.")
        document.add_paragraph("")
        document.add_paragraph("They are measured every year.")
        document.add_heading("1.1.1 5G and 6G networks", level=3)
        document.add_paragraph("towers on public land", style="List Bullet")
        document.add_paragraph("shared backhaul", style="List Bullet")
        document.add_heading("1.2 Trusted digital services", level=2)
        table = document.add_table(rows=2, cols=2)
        table.cell(0, 0).text, table.cell(0, 1).text = "Target", "Year"
        table.cell(1, 0).text, table.cell(1, 1).text = "5G in all cities", "2028"

    tree = parse_docx(docx_bytes(build))
    assert outline(tree) == [
        (
            0,
            "1",
            "Strategic outcomes",
            "The masterplan sets out seven desired outcomes.\n\nThey are measured every year.",
        ),
        (1, "1.1.1", "5G and 6G networks", "- towers on public land\n- shared backhaul"),
        (1, "1.2", "Trusted digital services", "Target | Year\n5G in all cities | 2028"),
    ]
    assert [tree[0].level, tree[0].children[0].level] == [1, 2]


def test_docx_outline_level_makes_a_heading_without_a_heading_style():
    def build(document):
        document.add_heading("Component", level=1)
        paragraph = document.add_paragraph("Chapter by outline level")
        outline_level = OxmlElement("w:outlineLvl")
        outline_level.set(qn("w:val"), "1")
        paragraph._p.get_or_add_pPr().append(outline_level)
        document.add_paragraph("Body of the chapter.")

    assert outline(parse_docx(docx_bytes(build))) == [
        (0, "", "Component", ""),
        (1, "", "Chapter by outline level", "Body of the chapter."),
    ]


def test_docx_text_before_the_first_heading_becomes_an_introduction():
    def build(document):
        document.add_paragraph("Adopted by the ministers.")
        document.add_heading("1 Vision", level=1)

    assert outline(parse_docx(docx_bytes(build))) == [
        (0, "", "Introduction", "Adopted by the ministers."),
        (0, "1", "Vision", ""),
    ]


def test_docx_keeps_vietnamese_thai_emoji_and_rtl_text():
    def build(document):
        for i, value in enumerate(UNICODE.values(), start=1):
            document.add_heading(f"2.{i} {value}", level=2)
            document.add_paragraph(value)

    rows = outline(parse_upload(name="Dự thảo.docx", data=docx_bytes(build)))
    assert [(number, heading, body) for _d, number, heading, body in rows] == [
        (f"2.{i}", value, value) for i, value in enumerate(UNICODE.values(), start=1)
    ]


def test_upload_picks_the_parser_by_extension_and_content():
    markdown = b"# 1 Vision\n\nA connected region.\n"
    assert outline(parse_upload(name="draft.md", data=markdown)) == [(0, "1", "Vision", "A connected region.")]
    assert outline(parse_upload(name="draft.markdown", data=b"\xef\xbb\xbf" + markdown))[0][2] == "Vision"

    def build(document):
        document.add_heading("Vision", level=1)

    # a DOCX whose name lost its extension is still read as DOCX
    assert outline(parse_upload(name="draft", data=docx_bytes(build))) == [(0, "", "Vision", "")]


def _corrupt_docx() -> bytes:
    data = docx_bytes(lambda document: document.add_heading("Vision", level=1))
    return data[: len(data) // 2]


def _zip_without_word_document() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", "hello")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("draft.docx", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "PDF files cannot be split into sections"),
        ("draft.md", b"%PDF-1.4\n# 1 Vision\n", "PDF files cannot be split into sections"),
        ("draft.docx", _corrupt_docx(), "not a readable Word document"),
        ("draft.docx", _zip_without_word_document(), "not a readable Word document"),
        ("draft.docx", b"just some text", "not a readable Word document"),
        ("draft.doc", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "old Word document (.doc)"),
        ("draft.md", b"\x00\x01\x02\x03\xff\xfe junk", "not in UTF-8"),
        ("draft.md", b"\x00\x01\x02\x03 junk", "neither"),
        ("draft.md", "# Chương 1\n".encode("cp1258"), "not in UTF-8"),
        ("draft.png", b"\x89PNG\r\n\x1a\n", "neither"),
        ("draft.md", b"", "empty"),
        ("draft.md", b"A draft without a single heading.\n\nStill none.", "no headings"),
    ],
)
def test_unreadable_uploads_are_refused_with_a_clear_message(name, data, message):
    with pytest.raises(ValidationError) as excinfo:
        parse_upload(name=name, data=data)
    assert message in " ".join(excinfo.value.messages)


def test_docx_without_headings_is_refused():
    data = docx_bytes(lambda document: document.add_paragraph("Only body text."))
    with pytest.raises(ValidationError) as excinfo:
        parse_upload(name="draft.docx", data=data)
    assert "no headings" in excinfo.value.messages[0]


def test_upload_larger_than_the_limit_is_refused(settings):
    settings.DRAFT_UPLOAD_MAX_BYTES = 1024
    with pytest.raises(ValidationError) as excinfo:
        parse_upload(name="draft.md", data=b"# Vision\n" + b"x" * 2000)
    assert "at most 1.0" in excinfo.value.messages[0]
