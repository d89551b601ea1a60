"""No page of a Word report ends on the line naming a comment, or on a heading, as LibreOffice
prints them (consolidation.documents.ooxml.keep_block_together).

A bold line "C17 · Indonesia · General · National position" kept with the next paragraph was left
at the foot of a page by LibreOffice 7.4 in some layouts (the demo's Vietnamese consolidated
feedback, page 7, and a heading at the foot of page 8 after it). Where the pages break depends on
everything before, so each document of the demo's first round is printed eleven times, with 0 to
10 empty lines before its first paragraph: the breaks fall in eleven different places.
"""

import io
import re
import zipfile

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from accounts.models import User
from consolidation.models import JobStatus
from consultations.models import DraftVersion, EngagementRound
from demo.seed import seed_demo
from tests.helpers.pdf import pdftotext
from tests.helpers.reports import make_report, read_bytes
from tests.helpers.services import soffice_path
from tests.helpers.word import convert_all_with_libreoffice, open_docx

SHIFTS = range(11)
COMMENT_LINE = re.compile(r"^\W*C\d+ · ")  # "C17 · Indonesia · ...", after a bullet in the revision report


@pytest.fixture
def demo_reports(db, django_capture_on_commit_callbacks) -> dict[str, bytes]:
    cache.clear()
    with django_capture_on_commit_callbacks(execute=True):
        seed_demo()
    secretariat = User.objects.get(email="secretariat@example.org")
    first = EngagementRound.objects.get(title="First stakeholder engagement")
    revised = DraftVersion.objects.get(consultation=first.consultation, number="0.2")
    made = {}
    for language in ("vi", "en"):
        with translation.override(language):
            for kind, target in (("consolidated_feedback", {"engagement_round": first}), ("revision_report", {})):
                if kind == "revision_report":
                    target = {"version": revised}
                report = make_report(
                    django_capture_on_commit_callbacks, secretariat, first.consultation, kind=kind, fmt="docx", **target
                )
                assert report.status == JobStatus.DONE, report.error
                made[f"{kind}-{language}"] = read_bytes(report)
    return made


def shifted(docx: bytes, empty_lines: int) -> bytes:
    """The same document with `empty_lines` empty paragraphs before its first one."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(docx)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename == "word/document.xml":
                data = data.replace(b"<w:body>", b"<w:body>" + b"<w:p/>" * empty_lines, 1)
            target.writestr(item, data)
    return out.getvalue()


def last_lines(pdf_text: str) -> list[str]:
    """The last printed line of every page but the last, under the running header, above the footer."""
    ends = []
    for page in pdf_text.split("\f")[:-1]:
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        lines = [line for line in lines if not (settings.SITE_NAME in line and re.search(r"\d+/\d+$", line))]
        if lines:
            ends.append(lines[-1])
    return ends


@pytest.mark.libreoffice
@pytest.mark.poppler
def test_no_page_ends_on_who_commented_or_on_a_heading(demo_reports, tmp_path):
    sources, headings = [], {}
    for name, docx in demo_reports.items():
        headings[name] = {p.text.strip() for p in open_docx(docx).paragraphs if p.style.name.startswith("Heading")}
        for empty_lines in SHIFTS:
            source = tmp_path / f"{name}-{empty_lines}.docx"
            source.write_bytes(shifted(docx, empty_lines))
            sources.append(source)

    printed = convert_all_with_libreoffice(soffice_path(), sources, "pdf", tmp_path)

    stranded = []
    for source, pdf in zip(sources, printed, strict=True):
        name = source.stem.rsplit("-", 1)[0]
        ends = last_lines(pdftotext(pdf, layout=True))
        assert len(ends) >= 3, f"{source.name}: the demo's reports run to several pages"
        stranded += [(source.name, end) for end in ends if COMMENT_LINE.match(end) or end in headings[name]]
    assert not stranded
