"""Word parts python-docx does not write, built by hand for the DOCX writers (feedback_docx, revision_docx).

- Tracked changes (TrackedChanges): an insertion is <w:ins> around runs, a deletion <w:del>
  around runs whose text is <w:delText>; each carries a w:id unique in the document, w:author
  and w:date (ISO 8601, UTC), so that Word and LibreOffice list them and accept or reject them
  one by one or all at once. A paragraph mark inserted or deleted (a paragraph added in the
  middle of a section, two merged) is marked in the paragraph's <w:pPr><w:rPr>.
- Comments (Comments): python-docx's Document.add_comment finds a free id by reading every
  comment already written (4,000 comments took 22 s); this does the same with a counter, and
  sets the comment's date, which python-docx always sets to now.
- Language (w:lang): the document's on its default run properties (every style inherits it),
  and a paragraph's own where its text is in another language (the comment's declared
  language, or a script that says it: Vietnamese letters, Thai, Lao, Khmer, Burmese).
- Headers and footers with a PAGE / NUMPAGES field, table rows that repeat as header or stay
  together, heading levels that never skip one, and core properties that name the platform.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime

from django.conf import settings
from docx.comments import Comment as WordComment
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph
from docx.text.run import Run

from config.redline import DELETE, EQUAL, INSERT, Segment


def platform_name() -> str:
    return settings.SITE_NAME


def w3c_datetime(moment: datetime) -> str:
    """The xsd:dateTime Word writes: UTC, seconds, a Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- language ---------------------------------------------------------------------------------

# The interface languages (settings.LANGUAGES) and the ASEAN languages a comment may declare, as
# Word's language tags. English is British English, as in ASEAN documents.
WORD_LANGUAGES = {
    "en": "en-GB",
    "vi": "vi-VN",
    "th": "th-TH",
    "km": "km-KH",
    "lo": "lo-LA",
    "my": "my-MM",
    "id": "id-ID",
    "ms": "ms-MY",
    "fil": "fil-PH",
    "tl": "fil-PH",
}
# Languages Word proofs as complex scripts: their tag goes in w:bidi (the complex-script language) too.
COMPLEX_SCRIPTS = {"th", "km", "lo", "my"}

_SCRIPTS = (
    ("th", re.compile("[\u0e00-\u0e7f]")),
    ("lo", re.compile("[\u0e80-\u0eff]")),
    ("km", re.compile("[\u1780-\u17ff]")),
    ("my", re.compile("[\u1000-\u109f]")),
    # Letters only Vietnamese uses among Latin-script languages: ă â đ ê ô ơ ư and the tone marks
    # on them, ạ ả ấ ... (U+1EA0-U+1EF9, Latin Extended Additional, Vietnamese block).
    ("vi", re.compile("[ăâđêôơưĂÂĐÊÔƠƯ\u1ea0-\u1ef9]")),
)


def word_language(code: str) -> str:
    """A language code (en, vi, th-TH) as Word's tag (en-GB, vi-VN, th-TH)."""
    code = (code or "").strip()
    if not code:
        return ""
    return WORD_LANGUAGES.get(code.lower(), code)


def detect_language(text: str) -> str:
    """The language a text's script tells for sure ("" when it does not: Latin without Vietnamese letters)."""
    for code, pattern in _SCRIPTS:
        if pattern.search(text):
            return code
    return ""


def _lang_element(code: str):
    tag = word_language(code)
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), tag)
    if tag.split("-")[0].lower() in COMPLEX_SCRIPTS:
        lang.set(qn("w:bidi"), tag)
    return lang


def _set_lang(rpr, code: str) -> None:
    for old in rpr.findall(qn("w:lang")):
        rpr.remove(old)
    # w:lang comes late in w:rPr (only w:eastAsianLayout, w:specVanish, w:oMath and changes after it).
    followers = [rpr.find(qn(tag)) for tag in ("w:eastAsianLayout", "w:specVanish", "w:oMath", "w:rPrChange")]
    following = next((f for f in followers if f is not None), None)
    element = _lang_element(code)
    if following is None:
        rpr.append(element)
    else:
        following.addprevious(element)


def set_font_size(owner, points: float) -> None:
    """A style's or a run's type size for every script: w:sz, and w:szCs, which Word and LibreOffice
    set Thai, Lao, Khmer and Burmese in (python-docx sets only w:sz: they kept the template's 11 pt)."""
    owner.font.size = Pt(points)
    rpr = owner.font._element.get_or_add_rPr()
    size_cs = rpr.find(qn("w:szCs"))
    if size_cs is None:
        size_cs = OxmlElement("w:szCs")
        rpr.find(qn("w:sz")).addnext(size_cs)  # w:szCs comes right after w:sz
    size_cs.set(qn("w:val"), str(round(points * 2)))


def complex_script_font(run: Run, family: str) -> None:
    """The font `run` sets Thai, Lao, Khmer or Burmese in (w:rFonts w:cs): the one its width was measured in."""
    run._r.get_or_add_rPr().get_or_add_rFonts().set(qn("w:cs"), family)


def set_document_language(document, code: str) -> None:
    """The document's language: on the default run properties every style inherits, and the theme's."""
    defaults = document.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(f"{qn('w:rPrDefault')}/{qn('w:rPr')}")
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        _set_lang(rpr, code)
    else:  # keep the East Asian and complex-script defaults, set the language of Latin text
        lang.set(qn("w:val"), word_language(code))
    theme_lang = document.settings.element.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:val"), word_language(code))


def set_paragraph_language(paragraph: Paragraph, code: str) -> None:
    """Every run of `paragraph`, and its mark, in language `code` (a no-op for "")."""
    if not code:
        return
    for run in paragraph._p.xpath(".//w:r"):  # runs inside w:ins / w:del too
        _set_lang(run.get_or_add_rPr(), code)
    ppr = paragraph._p.get_or_add_pPr()
    rpr = ppr.find(qn("w:rPr"))
    if rpr is None:
        rpr = OxmlElement("w:rPr")
        _append_ppr_rpr(ppr, rpr)
    _set_lang(rpr, code)


def set_run_language(run: Run, code: str) -> None:
    """One run in language `code` (a no-op for ""), for a paragraph whose lines differ."""
    if code:
        _set_lang(run._r.get_or_add_rPr(), code)


# A block of lines that belong together, longer than this, may break across pages (two lines at
# least on either side): kept whole, it would leave most of a page blank before it.
KEEP_WHOLE_LINES = 12
_PRINTED_COLUMNS = 90  # characters on an A4 line in the documents' body size, roughly


def add_line(paragraph: Paragraph, text: str = "", *, bold: bool = False, language: str = "", style: str = "") -> Run:
    """`text` on a new line of `paragraph` (after a line break, unless it is the first)."""
    if paragraph.runs:
        paragraph.add_run().add_break()
    run = paragraph.add_run(text, style=style or None)
    run.bold = bold or None
    set_run_language(run, language)
    return run


def keep_block_together(paragraph: Paragraph) -> None:
    """A block written by `add_line` (who commented, the passage, what they said) printed on one
    page when it is short, and never split to leave one line alone.

    One paragraph of lines rather than a bold line kept with the next paragraph: LibreOffice 7.4
    leaves such a line at the foot of a page in some layouts, ignoring keep-with-next
    (docs/decisions.md); the lines of one paragraph it keeps together.
    """
    lines = sum(max(1, -(-len(line) // _PRINTED_COLUMNS)) for line in paragraph.text.split("\n"))
    paragraph.paragraph_format.widow_control = True
    if lines <= KEEP_WHOLE_LINES:
        paragraph.paragraph_format.keep_together = True


def text_language(text: str, declared: str = "", document: str = "") -> str:
    """The language to mark a paragraph with: the one its script tells for sure (Thai letters are
    Thai, whatever the comment declared: a Burmese comment may quote or propose Vietnamese text),
    else the declared one, and "" when that is the document's own (the paragraph inherits it)."""
    code = (detect_language(text) or declared).strip()
    if not code or word_language(code) == word_language(document):
        return ""
    return code


def _append_ppr_rpr(ppr, rpr) -> None:
    # w:rPr is near the end of w:pPr: before w:sectPr and w:pPrChange only.
    following = next((ppr.find(qn(t)) for t in ("w:sectPr", "w:pPrChange") if ppr.find(qn(t)) is not None), None)
    if following is None:
        ppr.append(rpr)
    else:
        following.addprevious(rpr)


# --- runs ------------------------------------------------------------------------------------


def _text_children(run, text: str, *, deleted: bool) -> None:
    """`text` as the run's children: \\n as <w:br/>, \\t as <w:tab/>, the rest as w:t or w:delText."""
    tag = "w:delText" if deleted else "w:t"
    for index, line in enumerate(text.split("\n")):
        if index:
            run.append(OxmlElement("w:br"))
        for cell_index, piece in enumerate(line.split("\t")):
            if cell_index:
                run.append(OxmlElement("w:tab"))
            if piece:
                element = OxmlElement(tag)
                element.text = piece
                element.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
                run.append(element)


def new_run(text: str, *, deleted: bool = False):
    run = OxmlElement("w:r")
    _text_children(run, text, deleted=deleted)
    return run


class TrackedChanges:
    """Tracked insertions and deletions by one author at one time, with ids unique in the document.

    Word requires w:id to be unique among the document's annotations (changes, comments and
    bookmarks each keep their own numbering in practice, but one counter from a high base
    keeps them apart whatever else the document holds).
    """

    def __init__(self, *, author: str, date: datetime, first_id: int = 1_000_000):
        self.author = author
        self.date = w3c_datetime(date)
        self._next = first_id

    def _change(self, tag: str):
        element = OxmlElement(tag)
        element.set(qn("w:id"), str(self._next))
        element.set(qn("w:author"), self.author)
        element.set(qn("w:date"), self.date)
        self._next += 1
        return element

    def add(self, paragraph: Paragraph, segment: Segment) -> None:
        """One redline segment at the end of `paragraph`: plain, inserted or deleted text."""
        if segment.op == EQUAL:
            paragraph._p.append(new_run(segment.text))
            return
        wrapper = self._change("w:ins" if segment.op == INSERT else "w:del")
        wrapper.append(new_run(segment.text, deleted=segment.op == DELETE))
        paragraph._p.append(wrapper)

    def mark_paragraph(self, paragraph: Paragraph, op: str) -> None:
        """The paragraph's mark (its end) inserted or deleted: accepting a deleted mark joins the next paragraph."""
        if op == EQUAL:
            return
        ppr = paragraph._p.get_or_add_pPr()
        rpr = ppr.find(qn("w:rPr"))
        if rpr is None:
            rpr = OxmlElement("w:rPr")
            _append_ppr_rpr(ppr, rpr)
        rpr.insert(0, self._change("w:ins" if op == INSERT else "w:del"))


def tracked_paragraphs(segments: Sequence[Segment]) -> list[tuple[list[Segment], str]]:
    """The segments cut into paragraphs at blank lines, each with how its mark changed.

    A blank line inside an inserted segment is an inserted paragraph mark, inside a deleted
    one a deleted mark, elsewhere an unchanged one; the last paragraph's mark is unchanged.
    Paragraphs holding only spaces, with an unchanged mark, are left out (a blank line too many).
    """
    paragraphs: list[tuple[list[Segment], str]] = []
    current: list[Segment] = []
    for segment in segments:
        pieces = segment.text.split("\n\n")
        for index, piece in enumerate(pieces):
            if index:
                paragraphs.append((current, segment.op))
                current = []
            if piece:
                current.append(Segment(segment.op, piece))
    paragraphs.append((current, EQUAL))
    return [(runs, mark) for runs, mark in paragraphs if mark != EQUAL or any(s.text.strip() for s in runs)]


# --- comments --------------------------------------------------------------------------------


class Comments:
    """Word comments with ids from a counter (python-docx's add_comment is quadratic in the comment count)."""

    def __init__(self, document):
        proxy = document.comments  # creates word/comments.xml and its relationship if needed
        self._element = proxy._comments_elm
        self._part = proxy._comments_part
        self._next = max((int(i) for i in self._element.xpath("./w:comment/@w:id")), default=-1) + 1

    def add(
        self,
        runs: Sequence[Run],
        *,
        author: str,
        initials: str,
        date: datetime | None,
        paragraphs: Sequence[str],
        language: str | Sequence[str] = "",
    ) -> WordComment:
        """A comment on the text from runs[0] to runs[-1] (in one paragraph or across several).

        `language` is every paragraph's, or one per paragraph ("" for the document's own)."""
        languages = [language] * len(paragraphs) if isinstance(language, str) else list(language)
        comment_id = self._next
        self._next += 1
        element = parse_xml(
            f'<w:comment {nsdecls("w")} w:id="{comment_id}" w:author="" w:initials="">'
            '<w:p><w:pPr><w:pStyle w:val="CommentText"/></w:pPr>'
            '<w:r><w:rPr><w:rStyle w:val="CommentReference"/></w:rPr><w:annotationRef/></w:r></w:p>'
            "</w:comment>"
        )
        element.set(qn("w:author"), author)
        element.set(qn("w:initials"), initials)
        if date is not None:
            element.set(qn("w:date"), w3c_datetime(date))
        self._element.append(element)
        comment = WordComment(element, self._part)
        for index, text in enumerate(paragraphs):
            paragraph = comment.paragraphs[0] if index == 0 else comment.add_paragraph()
            paragraph._p.append(new_run(text))
            if languages[index]:
                set_paragraph_language(paragraph, languages[index])
        runs[0].mark_comment_range(runs[-1], comment_id)
        return comment


class LineNumbers:
    """Numbers before paragraphs that are not text: a one-level decimal list (numbering.xml).

    A number written as a run is text: a Word comment on a passage that runs over two lines
    holds the next line's number, and so does a copy of the passage. A list's number is drawn by
    Word and LibreOffice beside the paragraph and is in no range. Every numbered paragraph is
    one item of the list; where a number is not the one after the last, the list goes on from it
    (a w:num of its own starting there), so the numbers are the caller's, never Word's count.

    The number ends at `number_end` (right-aligned), the text starts at `text_start`; the number is
    `size` points in `colour`, whatever the paragraph's style (headings too).
    """

    def __init__(self, document, *, number_end: int, text_start: int, size: float, colour: str) -> None:
        self._numbering = document.part.numbering_part.element
        abstract_ids = self._numbering.xpath("./w:abstractNum/@w:abstractNumId")
        self._abstract_id = 1 + max((int(i) for i in abstract_ids), default=-1)
        self._next_num = 1 + max((int(i) for i in self._numbering.xpath("./w:num/@w:numId")), default=0)
        self._num_id = 0
        self._last: int | None = None
        self.indent = (text_start, text_start - number_end)  # left and hanging, in EMU
        left, hanging = (value // 635 for value in self.indent)  # twentieths of a point
        half_points = round(size * 2)
        abstract = parse_xml(
            f'<w:abstractNum {nsdecls("w")} w:abstractNumId="{self._abstract_id}">'
            '<w:multiLevelType w:val="singleLevel"/>'
            '<w:lvl w:ilvl="0"><w:start w:val="1"/><w:numFmt w:val="decimal"/><w:lvlText w:val="%1"/>'
            '<w:lvlJc w:val="right"/><w:suff w:val="tab"/>'
            f'<w:pPr><w:tabs><w:tab w:val="num" w:pos="{left}"/></w:tabs>'
            f'<w:ind w:left="{left}" w:hanging="{hanging}"/></w:pPr>'
            f'<w:rPr><w:b w:val="0"/><w:bCs w:val="0"/><w:i w:val="0"/><w:iCs w:val="0"/><w:color w:val="{colour}"/>'
            f'<w:sz w:val="{half_points}"/><w:szCs w:val="{half_points}"/></w:rPr>'
            "</w:lvl></w:abstractNum>"
        )
        # The schema puts every w:abstractNum before the first w:num.
        first_num = self._numbering.find(qn("w:num"))
        if first_num is not None:
            first_num.addprevious(abstract)
        else:
            self._numbering.append(abstract)

    def number(self, paragraph: Paragraph, value: int) -> None:
        """`paragraph` numbered `value`."""
        if self._last is None or value != self._last + 1:
            self._num_id = self._next_num
            self._next_num += 1
            self._numbering.append(
                parse_xml(
                    f'<w:num {nsdecls("w")} w:numId="{self._num_id}"><w:abstractNumId w:val="{self._abstract_id}"/>'
                    f'<w:lvlOverride w:ilvl="0"><w:startOverride w:val="{value}"/></w:lvlOverride></w:num>'
                )
            )
        self._last = value
        numbering = paragraph._p.get_or_add_pPr().get_or_add_numPr()
        numbering.get_or_add_ilvl().val = 0
        numbering.get_or_add_numId().val = self._num_id


def initials_of(name: str) -> str:
    """Initials for a comment's author: the first letter of each word, at most four (VN, ASEC)."""
    words = [w for w in re.split(r"[\s\-–]+", name) if w and w[0].isalnum()]
    return "".join(w[0].upper() for w in words)[:4]


def organisation_initials(*, country_code: str, short_name: str, name: str) -> str:
    """A Word comment's initials for an organisation, as a reviewer's would be: short, and the same in
    every file. The country code (a member state's "PH", as the matrix's MB/NC), else the short name
    ("IDCU"), else the initials of the name."""
    return (country_code or short_name or initials_of(name)).strip()


# --- layout ----------------------------------------------------------------------------------


class HeadingLevels:
    """Heading levels that follow the wanted depth but never skip one (1 then 3 becomes 1 then 2)."""

    def __init__(self, floor: int = 0):
        self.last = floor

    def level(self, wanted: int) -> int:
        level = max(1, min(wanted, self.last + 1, 9))
        self.last = level
        return level

    def reset(self, last: int) -> None:
        self.last = last


def _field(paragraph: Paragraph, instruction: str, placeholder: str) -> None:
    """A field Word and LibreOffice compute on opening and printing (PAGE, NUMPAGES)."""
    begin, separate, end = OxmlElement("w:fldChar"), OxmlElement("w:fldChar"), OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    begin.set(qn("w:dirty"), "true")
    separate.set(qn("w:fldCharType"), "separate")
    end.set(qn("w:fldCharType"), "end")
    code = OxmlElement("w:instrText")
    code.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
    code.text = f" {instruction} "
    for child in (begin, code, separate):
        run = OxmlElement("w:r")
        run.append(child)
        paragraph._p.append(run)
    paragraph._p.append(new_run(placeholder))
    run = OxmlElement("w:r")
    run.append(end)
    paragraph._p.append(run)


def header_and_footer(document, *, header: str, footer: str, page_label: str) -> None:
    """`header` at the top of every page; `footer`, then "Page N of M", at the bottom.

    `page_label` is the translated "Page %(page)s of %(pages)s"; the numbers are fields.
    """
    section = document.sections[0]
    top = section.header.paragraphs[0]
    top.text = header
    top.style = document.styles["Header"]
    bottom = section.footer.paragraphs[0]
    bottom.style = document.styles["Footer"]
    if footer:
        bottom.add_run(footer + " · ")
    before, _, rest = page_label.partition("%(page)s")
    middle, _, after = rest.partition("%(pages)s")
    bottom.add_run(before)
    _field(bottom, "PAGE", "1")
    bottom.add_run(middle)
    _field(bottom, "NUMPAGES", "1")
    bottom.add_run(after)


def a4_page(document) -> None:
    """A4 portrait with 20 mm margins (python-docx's template is US Letter): 170 mm of text width."""
    for section in document.sections:
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Mm(20)
        section.top_margin = section.bottom_margin = Mm(20)


def column_widths(table, widths_mm: Sequence[int]) -> None:
    """Fixed column widths (Word reads them per cell, LibreOffice from the grid: both are set)."""
    table.autofit = False
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)
        for cell in column.cells:
            cell.width = Mm(width)


def header_table(document, header: tuple[str, ...], rows: list[tuple[object, ...]]):
    """A grid table: the header row in bold, repeated on every page, and one row per `rows` item."""
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, label in zip(table.rows[0].cells, header, strict=True):
        cell.text = str(label)
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        for cell, value in zip(table.add_row().cells, row, strict=True):
            cell.text = str(value)
    repeat_header_row(table)
    return table


def repeat_header_row(table) -> None:
    """The first row repeats at the top of every page the table runs onto, and no row splits across pages."""
    for index, row in enumerate(table.rows):
        tr_pr = row._tr.get_or_add_trPr()
        wanted = ("w:cantSplit", "w:tblHeader") if index == 0 else ("w:cantSplit",)
        for tag in wanted:  # cantSplit comes before tblHeader in w:trPr
            if tr_pr.find(qn(tag)) is None:
                tr_pr.append(OxmlElement(tag))


def keep_table_together(table) -> None:
    """A short table on one page: every row's paragraphs keep with the next row (the last row ends the chain)."""
    rows = table.rows
    for row in rows[:-1]:
        for cell in row.cells:
            for paragraph in cell.paragraphs:
                paragraph.paragraph_format.keep_with_next = True


def set_core_properties(
    document, *, title: str, subject: str, keywords: str, language: str, description: str = ""
) -> None:
    """Title, subject, keywords and language; the platform as author; created and modified now."""
    now = datetime.now(UTC).replace(microsecond=0)
    properties = document.core_properties
    properties.title = title[:255]
    properties.subject = subject[:255]
    properties.keywords = keywords[:255]
    properties.author = platform_name()
    properties.last_modified_by = platform_name()
    properties.comments = description[:255]
    properties.category = ""
    properties.language = word_language(language)
    properties.created = now
    properties.modified = now
    properties.revision = 1
