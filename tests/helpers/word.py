"""Reading a DOCX as Word would: tracked changes accepted or rejected, comments and their ranges, fields.

accept_all / reject_all do on the XML what Word's "Accept All Changes" / "Reject All Changes"
do: accepting removes every <w:del> and unwraps every <w:ins>; rejecting removes every <w:ins>
and unwraps every <w:del> (its w:delText becoming w:t). A paragraph mark marked deleted
(accepting) or inserted (rejecting) goes away: the paragraph runs on into the next one.
"""

from __future__ import annotations

import copy
import io
import subprocess
import zipfile
from pathlib import Path

from docx import Document
from docx.oxml.ns import qn
from lxml import etree

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
NS = {"w": W}


def open_docx(data: bytes):
    return Document(io.BytesIO(data))


def part_xml(data: bytes, name: str):
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return etree.fromstring(archive.read(name))


def part_names(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()


def _unwrap(element) -> None:
    parent = element.getparent()
    index = parent.index(element)
    for offset, child in enumerate(list(element)):
        parent.insert(index + offset, child)
    parent.remove(element)


def _resolve(body, *, keep: str, drop: str):
    body = copy.deepcopy(body)
    # Paragraph marks first: <w:p><w:pPr><w:rPr><w:del/> joins the paragraph with the next one.
    for paragraph in body.iter(qn("w:p")):
        mark = paragraph.find(f"{qn('w:pPr')}/{qn('w:rPr')}")
        if mark is None:
            continue
        for change in mark.findall(qn(keep)):
            mark.remove(change)
    while True:
        joined = next(
            (p for p in body.iter(qn("w:p")) if p.find(f"{qn('w:pPr')}/{qn('w:rPr')}/{qn(drop)}") is not None),
            None,
        )
        if joined is None:
            break
        mark = joined.find(f"{qn('w:pPr')}/{qn('w:rPr')}")
        mark.remove(mark.find(qn(drop)))
        following = joined.getnext()
        if following is not None and following.tag == qn("w:p"):
            for child in list(following):
                if child.tag != qn("w:pPr"):
                    joined.append(child)
            following.getparent().remove(following)
    for change in list(body.iter(qn(drop))):
        change.getparent().remove(change)
    for change in list(body.iter(qn(keep))):
        for deleted in change.iter(qn("w:delText")):
            deleted.tag = qn("w:t")
        _unwrap(change)
    return body


def accept_all(body):
    """A copy of `body` (a w:body or w:p element) with every tracked change accepted."""
    return _resolve(body, keep="w:ins", drop="w:del")


def reject_all(body):
    """A copy of `body` with every tracked change rejected."""
    return _resolve(body, keep="w:del", drop="w:ins")


def paragraph_text(paragraph) -> str:
    """The text a reader sees in a w:p: w:t, w:delText, breaks and tabs, in order."""
    parts = []
    for node in paragraph.iter(qn("w:t"), qn("w:delText"), qn("w:br"), qn("w:tab")):
        if node.tag == qn("w:br"):
            parts.append("\n")
        elif node.tag == qn("w:tab"):
            parts.append("\t")
        else:
            parts.append(node.text or "")
    return "".join(parts)


def paragraphs(body) -> list[str]:
    """The text of each top-level paragraph of a w:body."""
    return [paragraph_text(p) for p in body.iterfind(qn("w:p"))]


def comments(data: bytes) -> dict[str, dict]:
    """word/comments.xml as {id: {author, initials, date, text}}, text being its paragraphs joined by \\n."""
    root = part_xml(data, "word/comments.xml")
    found = {}
    for comment in root.iterfind(qn("w:comment")):
        found[comment.get(qn("w:id"))] = {
            "author": comment.get(qn("w:author")),
            "initials": comment.get(qn("w:initials")),
            "date": comment.get(qn("w:date")),
            "text": "\n".join(paragraph_text(p) for p in comment.iterfind(qn("w:p"))),
        }
    return found


def commented_text(body) -> dict[str, str]:
    """{comment id: the document text between its commentRangeStart and commentRangeEnd}."""
    open_ranges: dict[str, list[str]] = {}
    found: dict[str, str] = {}
    for node in body.iter():
        if node.tag == qn("w:commentRangeStart"):
            open_ranges[node.get(qn("w:id"))] = []
        elif node.tag == qn("w:commentRangeEnd"):
            found[node.get(qn("w:id"))] = "".join(open_ranges.pop(node.get(qn("w:id"))))
        elif node.tag == qn("w:p") and any(open_ranges.values()):
            for pieces in open_ranges.values():
                if pieces:
                    pieces.append("\n\n")
        elif node.tag in (qn("w:t"), qn("w:delText")):
            for pieces in open_ranges.values():
                pieces.append(node.text or "")
    return found


def list_numbered(document) -> list[tuple[int, str]]:
    """(number, text) of each list-numbered paragraph of a python-docx Document, as Word numbers it.

    One level only: a w:num's paragraphs count on from its w:startOverride (else its level's
    w:start), each w:num on its own.
    """
    numbering = document.part.numbering_part.element
    starts = {}
    for num in numbering.iterfind(qn("w:num")):
        abstract_id = num.find(qn("w:abstractNumId")).get(qn("w:val"))
        override = num.find(f"{qn('w:lvlOverride')}/{qn('w:startOverride')}")
        if override is None:
            abstract = numbering.xpath(f"./w:abstractNum[@w:abstractNumId='{abstract_id}']")[0]
            override = abstract.find(f"{qn('w:lvl')}/{qn('w:start')}")
        starts[num.get(qn("w:numId"))] = int(override.get(qn("w:val")))
    counted: dict[str, int] = {}
    found = []
    for paragraph in document.paragraphs:
        num_id = paragraph._p.xpath("./w:pPr/w:numPr/w:numId/@w:val")
        if not num_id:
            continue
        number = counted.get(num_id[0], starts[num_id[0]] - 1) + 1
        counted[num_id[0]] = number
        found.append((number, paragraph.text))
    return found


def convert_with_libreoffice(soffice: str, source: Path, fmt: str, outdir: Path) -> Path:
    """`source` converted by LibreOffice headless (its own profile in outdir), the new file's path."""
    return convert_all_with_libreoffice(soffice, [source], fmt, outdir)[0]


def convert_all_with_libreoffice(soffice: str, sources: list[Path], fmt: str, outdir: Path) -> list[Path]:
    """Every one of `sources` converted by one LibreOffice run (started once), the new files' paths."""
    subprocess.run(
        [
            soffice,
            f"-env:UserInstallation=file://{outdir}/profile",
            "--headless",
            "--convert-to",
            fmt,
            "--outdir",
            str(outdir),
            *(str(source) for source in sources),
        ],
        check=True,
        capture_output=True,
        timeout=180 + 30 * len(sources),
    )
    return [outdir / (source.stem + "." + fmt.split(":")[0]) for source in sources]
