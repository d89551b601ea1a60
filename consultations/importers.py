"""Read an uploaded draft (DOCX or Markdown) into a section tree, ready for version_create.

The document's headings make the tree: heading levels 1, 2 and 3 become component, chapter and
clause (deeper headings fold into clauses), but the depth of a section is decided by nesting, so
a level-3 heading right under a level-1 heading becomes that heading's child. A heading that
starts with a clause number ("2.3 Data governance", "2.3. Data governance") keeps the number
apart from the heading text. Text before the first heading becomes an "Introduction" section.

Nothing here touches the database: every function returns SectionDraft trees or raises a
ValidationError whose message a secretariat understands.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from config.text import clean_text

from .services import SectionDraft

MAX_LEVEL = 3
MARKDOWN_EXTENSIONS = {".md", ".markdown", ".mdown", ".mkd", ".txt"}
DOCX_EXTENSIONS = {".docx"}
# A DOCX is a zip; refuse archives that would inflate far beyond the upload limit (zip bombs).
DOCX_MAX_INFLATION = 20

# "2.3 Data governance", "2.3. Data governance", "1 Introduction": digits only, and each
# part has at most three digits so that "2030 Vision" keeps its year in the heading.
_NUMBER_RE = re.compile(r"^\s*(?P<number>\d{1,3}(?:\.\d{1,3})*)\.?(?:\s+|$)(?P<heading>.*)$", re.DOTALL)
_BLANK_RUNS = re.compile(r"\n{3,}")


@dataclass
class _Heading:
    level: int
    text: str
    body: str = ""


# --- shared helpers -----------------------------------------------------------------------


def split_number(text: str) -> tuple[str, str]:
    """("2.3", "Data governance") from "2.3. Data governance"; ("", text) when there is no number."""
    text = " ".join(text.split())
    match = _NUMBER_RE.match(text)
    if match and match.group("heading").strip():
        return match.group("number"), match.group("heading").strip()
    return "", text


def _clean_body(blocks: list[str]) -> str:
    text = "\n\n".join(block.strip("\n") for block in blocks if block.strip())
    return _BLANK_RUNS.sub("\n\n", text).strip()


def _build_tree(preamble: list[str], headings: list[_Heading]) -> list[SectionDraft]:
    """Nest the headings by level; depth follows nesting, not the raw heading level."""
    if not headings:
        raise ValidationError(
            _(
                "The document has no headings, so it cannot be split into sections. Mark the section "
                "titles as headings (Heading 1, 2 and 3 in Word, #, ## and ### in Markdown) and upload it again."
            )
        )
    roots: list[SectionDraft] = []
    intro = _clean_body(preamble)
    if intro:
        roots.append(SectionDraft(heading=_("Introduction"), level=1, body=intro))
    # (raw level, draft) from the top of the tree down to the last section added
    stack: list[tuple[int, SectionDraft]] = []
    for item in headings:
        level = min(max(item.level, 1), MAX_LEVEL)
        while stack and stack[-1][0] >= level:
            stack.pop()
        number, heading = split_number(item.text)
        draft = SectionDraft(heading=heading, level=len(stack) + 1, number=number, body=item.body)
        (stack[-1][1].children if stack else roots).append(draft)
        stack.append((level, draft))
    return roots


# --- Markdown -----------------------------------------------------------------------------


def _inline_text(inline) -> str:
    """Plain text of an inline token: markup dropped, links keep their address."""
    parts: list[str] = []
    links: list[tuple[str, int]] = []
    for child in inline.children or []:
        kind = child.type
        if kind in ("text", "code_inline", "html_inline"):
            parts.append(child.content)
        elif kind == "softbreak":
            parts.append(" ")
        elif kind == "hardbreak":
            parts.append("\n")
        elif kind == "image":
            parts.append(child.content)
        elif kind == "link_open":
            links.append((str(child.attrGet("href") or ""), len(parts)))
        elif kind == "link_close" and links:
            href, start = links.pop()
            label = "".join(parts[start:])
            if href and href != label and not href.startswith("#"):
                parts.append(f" ({href})")
    return "".join(parts).strip()


def parse_markdown(text: str) -> list[SectionDraft]:
    """Split Markdown into sections at its ATX or setext headings (h1..h3; deeper fold into h3)."""
    from markdown_it import MarkdownIt

    md = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])
    tokens = md.parse(text.replace("\r\n", "\n").replace("\r", "\n"))

    preamble: list[str] = []
    headings: list[_Heading] = []
    blocks: list[str] = []  # the blocks of the section being read (or the preamble)

    def flush() -> None:
        if headings:
            headings[-1].body = _clean_body(blocks)
        else:
            preamble.extend(blocks)
        blocks.clear()

    lists: list[dict] = []  # open lists, outermost first: {"ordered", "next", "lines"}
    list_lines: list[str] = []
    item_prefix: list[str | None] = []  # per open list item: marker still to print, or None
    row: list[str] = []
    table_lines: list[str] = []
    in_table = False
    i = 0
    while i < len(tokens):
        token = tokens[i]
        kind = token.type
        if kind == "heading_open":
            flush()
            inline = tokens[i + 1]
            headings.append(_Heading(level=int(token.tag[1:]), text=_inline_text(inline)))
            i += 3
            continue
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrGet("start") or 1) if kind == "ordered_list_open" else 0
            lists.append({"ordered": kind == "ordered_list_open", "next": start, "delim": token.markup or "."})
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
            if not lists:
                blocks.append("\n".join(list_lines))
                list_lines = []
        elif kind == "list_item_open":
            current = lists[-1]
            if current["ordered"]:
                marker = f"{current['next']}{current['delim']} "
                current["next"] += 1
            else:
                marker = "- "
            item_prefix.append(marker)
        elif kind == "list_item_close":
            item_prefix.pop()
        elif kind == "table_open":
            in_table, table_lines = True, []
        elif kind == "table_close":
            in_table = False
            blocks.append("\n".join(table_lines))
        elif kind == "tr_open":
            row = []
        elif kind == "tr_close":
            table_lines.append(" | ".join(row))
        elif kind in ("fence", "code_block"):
            if lists:
                list_lines.append(token.content.rstrip("\n"))
            else:
                blocks.append(token.content.rstrip("\n"))
        elif kind == "inline":
            content = _inline_text(token)
            if in_table:
                row.append(content)
            elif lists:
                indent = "  " * (len(lists) - 1)
                to_print = item_prefix[-1] if item_prefix else None
                if to_print is None:
                    # a second paragraph of the same item: indent it under the marker
                    list_lines.append(indent + "  " + content)
                else:
                    list_lines.append(indent + to_print + content)
                    item_prefix[-1] = None
            elif content:
                blocks.append(content)
        i += 1
    flush()
    return _build_tree(preamble, headings)


# --- DOCX ---------------------------------------------------------------------------------

_HEADING_STYLE_RE = re.compile(r"^heading\s*(\d)$", re.IGNORECASE)
_SKIPPED_STYLES = {"title", "subtitle"}


def _style_chain(style):
    seen = 0
    while style is not None and seen < 10:
        yield style
        style = style.base_style
        seen += 1


def _outline_level(element) -> int | None:
    """w:outlineLvl (0-based) on a paragraph or style, as a 1-based heading level."""
    from docx.oxml.ns import qn

    ppr = element.find(qn("w:pPr"))
    if ppr is None:
        return None
    outline = ppr.find(qn("w:outlineLvl"))
    if outline is None:
        return None
    try:
        value = int(outline.get(qn("w:val")))
    except (TypeError, ValueError):
        return None
    # 9 means "body text" in Word's outline view
    return value + 1 if 0 <= value <= 8 else None


def _paragraph_role(paragraph) -> tuple[str, int]:
    """("skip", 0), ("heading", level), ("list", 0) or ("body", 0)."""
    style = paragraph.style
    for current in _style_chain(style):
        name = (current.name or "").strip()
        if name.lower() in _SKIPPED_STYLES:
            return "skip", 0
        match = _HEADING_STYLE_RE.match(name)
        if match:
            return "heading", int(match.group(1))
    level = _outline_level(paragraph._p)
    if level is None:
        for current in _style_chain(style):
            level = _outline_level(current.element)
            if level is not None:
                break
    if level is not None:
        return "heading", level
    from docx.oxml.ns import qn

    ppr = paragraph._p.pPr
    if (ppr is not None and ppr.find(qn("w:numPr")) is not None) or any(
        (s.name or "").lower().startswith("list") for s in _style_chain(style)
    ):
        return "list", 0
    return "body", 0


def _table_lines(table) -> list[str]:
    lines = []
    for row in table.rows:
        cells, seen = [], set()
        for cell in row.cells:
            # a merged cell appears once per grid column it spans
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            text = " ".join(cell.text.split())
            cells.append(text)
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


def _check_docx_archive(data: bytes) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            inflated = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ValidationError(_not_readable_docx(), code="unreadable")
    if "word/document.xml" not in names and "[Content_Types].xml" not in names:
        raise ValidationError(_not_readable_docx(), code="unreadable")
    if inflated > max(settings.DRAFT_UPLOAD_MAX_BYTES, len(data)) * DOCX_MAX_INFLATION:
        raise ValidationError(_("This Word document unpacks to far more data than a draft holds."), code="too_large")


def _not_readable_docx() -> str:
    return _("This file is not a readable Word document (.docx). Open it in Word, save it as .docx and try again.")


def parse_docx(data: bytes) -> list[SectionDraft]:
    """Split a Word document at its headings (styles Heading 1-3 or an outline level)."""
    _check_docx_archive(data)
    try:
        import docx
        from docx.table import Table

        document = docx.Document(io.BytesIO(data))
        items = list(document.iter_inner_content())
        preamble: list[str] = []
        headings: list[_Heading] = []
        blocks: list[str] = []
        list_run: list[str] = []

        def end_list() -> None:
            if list_run:
                blocks.append("\n".join(list_run))
                list_run.clear()

        def flush() -> None:
            end_list()
            if headings:
                headings[-1].body = _clean_body(blocks)
            else:
                preamble.extend(blocks)
            blocks.clear()

        for item in items:
            if isinstance(item, Table):
                end_list()
                lines = _table_lines(item)
                if lines:
                    blocks.append("\n".join(lines))
                continue
            role, level = _paragraph_role(item)
            text = item.text.replace("\r", "")
            if role == "skip":
                continue
            if role == "heading":
                if not text.strip():
                    continue
                flush()
                headings.append(_Heading(level=level, text=text))
            elif role == "list":
                if text.strip():
                    list_run.append("- " + text.strip())
            elif text.strip():
                end_list()
                blocks.append(text.strip())
        flush()
    except ValidationError:
        raise
    except Exception:
        # python-docx and lxml raise many kinds of errors on a damaged package.
        raise ValidationError(_not_readable_docx(), code="unreadable")
    return _build_tree(preamble, headings)


# --- choosing the parser ------------------------------------------------------------------

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc, .xls (Office 97-2003)
_ZIP_MAGIC = b"PK\x03\x04"
# Control characters that only binary data has. Word's line and page breaks (\x0b, \x0c), a
# stray escape or bell are text pasted from somewhere: clean_text turns them into line breaks
# or drops them.
_CONTROL_CHARS = re.compile(r"[\x00-\x06\x0e-\x1a\x1c-\x1f]")


def _extension(name: str) -> str:
    name = name.lower().rsplit("/", 1)[-1].rsplit("\\", 1)[-1]
    return "." + name.rsplit(".", 1)[-1] if "." in name else ""


def _unsupported() -> ValidationError:
    return ValidationError(
        _("Upload the draft as a Word document (.docx) or a Markdown file (.md). This file is neither."),
        code="unsupported",
    )


def _decode_text(data: bytes) -> str:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(
            _("This text file is not in UTF-8. Save it with UTF-8 encoding and upload it again."), code="encoding"
        )
    if _CONTROL_CHARS.search(text):
        raise _unsupported()
    return clean_text(text)


def check_draft_size(size: int | None) -> None:
    """Refuse a draft larger than settings.DRAFT_UPLOAD_MAX_BYTES (None: the size is not known)."""
    limit = settings.DRAFT_UPLOAD_MAX_BYTES
    if size is not None and size > limit:
        raise ValidationError(
            _("The file is %(size)s; a draft can be at most %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(limit)},
            code="too_large",
        )


def parse_upload(*, name: str, data: bytes) -> list[SectionDraft]:
    """The section tree of an uploaded draft, the parser chosen by the file's name and content."""
    check_draft_size(len(data))
    if not data.strip():
        raise ValidationError(_("The file is empty."), code="empty")
    extension = _extension(name)
    if data.startswith(_OLE_MAGIC):
        raise ValidationError(
            _("This is an old Word document (.doc). Save it as .docx in Word and upload it again."), code="old_doc"
        )
    if data.startswith(b"%PDF"):
        raise ValidationError(
            _("PDF files cannot be split into sections. Upload the Word (.docx) or Markdown (.md) source."),
            code="pdf",
        )
    if data.startswith(_ZIP_MAGIC):
        if extension in DOCX_EXTENSIONS or extension not in MARKDOWN_EXTENSIONS:
            return parse_docx(data)
        raise _unsupported()
    if extension in DOCX_EXTENSIONS:
        raise ValidationError(_not_readable_docx(), code="unreadable")
    if extension in MARKDOWN_EXTENSIONS or extension == "":
        return parse_markdown(_decode_text(data))
    raise _unsupported()
