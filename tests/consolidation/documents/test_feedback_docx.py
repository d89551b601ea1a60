"""The consolidated feedback DOCX as a secretariat opens it: the draft with every comment in the
margin on the passage it quotes, as the delegation's reviewer would have left it, summary tables,
page numbers, properties and languages.

Made through the report job (consolidation.services.exports), as a user asks for it.
"""

from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.utils import timezone, translation
from docx.oxml.ns import qn

from comments.models import Comment
from consolidation.models import Disposition, JobStatus
from tests.factories import CommentFactory
from tests.helpers.drafts import DATA_CENTRES, FIVE_G
from tests.helpers.reports import make_report, read_bytes
from tests.helpers.services import soffice_path
from tests.helpers.word import (
    commented_text,
    comments,
    convert_with_libreoffice,
    open_docx,
    paragraph_text,
    part_names,
)

VI_BODY = "Đề nghị bổ sung mục tiêu năng lượng tái tạo cho các trung tâm dữ liệu khu vực."
VI_PROPOSAL = "Thêm “ít nhất 50% vào năm 2030”."
SUBMITTED = datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)


@pytest.fixture
def data(consultation, version, open_round, secretariat, vn_delegate, th_delegate, partner):
    clause = version.sections.get(key="infra-5g")
    data_centres = version.sections.get(key="infra-dc")

    def make(author, section, *, quote="", **fields):
        anchor = {}
        if quote:
            start = section.body.index(quote)
            anchor = {"quote_exact": quote, "position_start": start, "position_end": start + len(quote)}
        fields.setdefault("status", Comment.Status.SUBMITTED)
        fields.setdefault("submitted_at", SUBMITTED)
        return CommentFactory(round=open_round, section=section, author=author, **anchor, **fields)

    made = {
        "th_5g": make(th_delegate, clause, quote="5G coverage", type="te", body="Add 6G trials."),
        "th_urban": make(th_delegate, clause, quote="all urban areas by 2028", type="ed", body="Say which areas."),
        "vn_whole": make(vn_delegate, clause, type="ge", body="The clause needs a baseline."),
        "vn_dc": make(
            vn_delegate,
            data_centres,
            quote="renewable energy",
            type="te",
            body=VI_BODY,
            proposed_change=VI_PROPOSAL,
            language="vi",
            is_endorsed=True,
        ),
        "partner_dc": make(partner, data_centres, type="ge", body="Cite the energy study."),
        "withdrawn": make(th_delegate, data_centres, type="ge", body="Never mind.", status=Comment.Status.WITHDRAWN),
    }
    Disposition.objects.create(
        comment=made["vn_dc"],
        decision=Disposition.Decision.ACCEPTED,
        response="Accepted: the target is added for 2030.",
        decided_by=secretariat,
        decided_at=timezone.now(),
    )
    Disposition.objects.create(  # proposed only: internal, in no export
        comment=made["th_urban"], proposed_decision=Disposition.Decision.NOTED, proposed_response="Internal note"
    )
    return made


def feedback(django_capture_on_commit_callbacks, user, consultation, open_round) -> bytes:
    report = make_report(
        django_capture_on_commit_callbacks,
        user,
        consultation,
        kind="consolidated_feedback",
        fmt="docx",
        engagement_round=open_round,
    )
    assert report.status == JobStatus.DONE, report.error
    return read_bytes(report)


@pytest.fixture
def made(django_capture_on_commit_callbacks, consultation, open_round, secretariat, data):
    return feedback(django_capture_on_commit_callbacks, secretariat, consultation, open_round)


def _by_text(found: dict[str, dict], words: str) -> str:
    return next(cid for cid, comment in found.items() if words in comment["text"])


def test_every_comment_is_a_word_comment_on_the_passage_it_quotes(made, data):
    assert "word/comments.xml" in part_names(made)
    found = comments(made)
    assert len(found) == len(data)  # one each, the withdrawn one included (it is in the export)
    ranges = commented_text(open_docx(made).element.body)
    assert ranges[_by_text(found, "Add 6G trials.")] == "5G coverage"
    assert ranges[_by_text(found, "Say which areas.")] == "all urban areas by 2028"
    assert ranges[_by_text(found, VI_BODY)] == "renewable energy"
    # On the whole section: on its heading.
    assert ranges[_by_text(found, "The clause needs a baseline.")] == "1.1.1 5G and 6G networks"
    assert ranges[_by_text(found, "Cite the energy study.")] == "1.1.2 Data centres"
    # The text around the anchors is whole: cutting it into runs lost nothing.
    texts = [p.text for p in open_docx(made).paragraphs]
    assert FIVE_G in texts and DATA_CENTRES in texts


def test_a_comment_says_who_when_what_and_the_decision_once(made, data):
    found = comments(made)
    vn = found[_by_text(found, VI_BODY)]
    assert (vn["author"], vn["initials"], vn["date"]) == ("Viet Nam", "VN", "2025-02-03T04:05:06Z")
    assert vn["text"] == "\n".join(
        [
            f"{data['vn_dc'].number} · Technical (te) · National position",
            VI_BODY,
            f"Proposed change: {VI_PROPOSAL}",
            "Disposition: Accepted: the target is added for 2030.",  # not "Accepted: Accepted: ..."
        ]
    )
    th = found[_by_text(found, "Say which areas.")]
    assert th["author"] == "Thailand" and "Internal note" not in th["text"] and "Disposition" not in th["text"]
    partner = found[_by_text(found, "Cite the energy study.")]
    assert partner["author"] == "Development Partner" and partner["initials"] == "DP"
    # Organisations only, as in every export: no person's name or e-mail.
    for comment in found.values():
        assert "@" not in comment["author"] + comment["text"]
    written = "\n".join(p.text for p in open_docx(made).paragraphs)
    assert "Disposition: Accepted: the target is added for 2030." in written
    assert "Accepted: Accepted" not in written


def test_initials_are_the_country_code_when_the_short_name_is_the_name(
    django_capture_on_commit_callbacks, consultation, open_round, secretariat, data
):
    """A reviewer's initials are short: "VN" in the margin, as MB/NC says, even where the short name is long."""
    data["vn_dc"].organisation.__class__.objects.filter(pk=data["vn_dc"].organisation_id).update(short_name="Viet Nam")
    found = comments(feedback(django_capture_on_commit_callbacks, secretariat, consultation, open_round))
    assert found[_by_text(found, VI_BODY)]["initials"] == "VN"


def test_who_commented_stays_on_the_page_of_what_they_said(made, data):
    """Who commented, the passage quoted and what they said: lines of one paragraph kept whole,
    which no office suite leaves at the foot of a page (a bold line kept with the next paragraph,
    LibreOffice did, see test_no_page_ends_on_who_commented below)."""
    document = open_docx(made)
    number = data["vn_dc"].number
    block = next(p for p in document.paragraphs if p.text.startswith(f"{number} · "))
    head, quote, body = block.text.split("\n")
    assert head.startswith(f"{number} · Viet Nam")
    assert (quote, body) == ("“renewable energy”", VI_BODY)
    assert block.paragraph_format.keep_together and block.paragraph_format.widow_control
    assert [run.bold for run in block.runs if run.text.strip()] == [True, None, None]


def test_a_delegates_file_holds_in_the_margin_only_what_they_see(
    django_capture_on_commit_callbacks, consultation, open_round, th_delegate, data
):
    found = comments(feedback(django_capture_on_commit_callbacks, th_delegate, consultation, open_round))
    assert {comment["author"] for comment in found.values()} == {"Thailand"}


def _cells(table) -> list[list[str]]:
    return [[cell.text for cell in row.cells] for row in table.rows]


def test_summary_tables_count_by_type_organisation_and_decision_before_the_sections(made):
    document = open_docx(made)
    headings = [p.text for p in document.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:4] == ["Summary", "Comments by type", "Comments by organisation", "Comments by decision"]
    assert headings.index("1 Strategic outcomes") > 3
    by_type, by_organisation, by_decision = (_cells(t) for t in document.tables[:3])
    assert by_type == [["Type", "Comments"], ["General", "3"], ["Technical", "2"], ["Editorial", "1"], ["Total", "6"]]
    assert by_organisation == [
        ["Organisation", "Comments", "National positions"],
        ["Thailand", "3", "0"],
        ["Viet Nam", "2", "1"],
        ["Development Partner", "1", "0"],
        ["Total", "6", "1"],
    ]
    decisions = dict(row for row in by_decision[1:])
    assert (decisions["Accepted"], decisions["No decision yet"], decisions["Withdrawn"], decisions["Total"]) == (
        "1",
        "4",
        "1",
        "6",
    )
    for table in document.tables:
        assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None
        assert all(p.paragraph_format.keep_with_next for p in table.rows[-2].cells[0].paragraphs)


def test_page_numbers_header_properties_and_languages(made):
    document = open_docx(made)
    section = document.sections[0]
    assert section.header.paragraphs[0].text == "Consolidated feedback: ASEAN Digital Masterplan 2030"
    footer = section.footer.paragraphs[0]._p
    assert [i.text.strip() for i in footer.iter(qn("w:instrText"))] == ["PAGE", "NUMPAGES"]
    core = document.core_properties
    assert core.title == "Consolidated feedback: ASEAN Digital Masterplan 2030"
    assert core.subject == "Second stakeholder engagement, on version 0.1 of the draft."
    assert core.author == core.last_modified_by == settings.SITE_NAME
    assert core.created.year == timezone.now().year and core.keywords
    defaults = document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}")
    assert defaults.get(qn("w:val")) == "en-GB"
    block = next(p for p in document.paragraphs if p.text.endswith(VI_BODY))
    languages = {run.text: {lang.get(qn("w:val")) for lang in run._r.iter(qn("w:lang"))} for run in block.runs}
    assert languages[VI_BODY] == {"vi-VN"}
    assert languages[block.text.split("\n")[0]] == set()  # what the platform wrote: the document's
    found = comments(made)
    vn_id = _by_text(found, VI_BODY)
    part = open_docx(made).part._comments_part.element
    vn = part.find(f"{qn('w:comment')}[@{qn('w:id')}='{vn_id}']")
    assert "vi-VN" in {lang.get(qn("w:val")) for lang in vn.iter(qn("w:lang"))}
    # Paragraph by paragraph: the comment and its proposal in Vietnamese, what the platform wrote
    # around them (number and type, the disposition) in the document's language.
    tags = [{lang.get(qn("w:val")) for lang in p.iter(qn("w:lang"))} for p in vn.iterfind(qn("w:p"))]
    assert tags == [set(), {"vi-VN"}, {"vi-VN"}, set()], tags


def test_a_vietnamese_requester_gets_a_vietnamese_document(
    django_capture_on_commit_callbacks, consultation, open_round, secretariat, data
):
    with translation.override("vi"):
        made = feedback(django_capture_on_commit_callbacks, secretariat, consultation, open_round)
    document = open_docx(made)
    defaults = document.styles.element.find(f"{qn('w:docDefaults')}/{qn('w:rPrDefault')}/{qn('w:rPr')}/{qn('w:lang')}")
    assert defaults.get(qn("w:val")) == "vi-VN"
    assert document.core_properties.language == "vi-VN"
    block = next(p for p in document.paragraphs if p.text.endswith(VI_BODY))
    assert not list(block._p.iter(qn("w:lang")))  # Vietnamese in a Vietnamese document: the default
    english = next(p._p for p in document.paragraphs if paragraph_text(p._p) == FIVE_G)
    assert not list(english.iter(qn("w:lang")))  # Latin without Vietnamese letters: cannot tell, left alone


@pytest.mark.libreoffice
def test_libreoffice_opens_it_with_the_comments_in_the_margin(made, data, tmp_path):
    source = tmp_path / "feedback.docx"
    source.write_bytes(made)

    pdf = convert_with_libreoffice(soffice_path(), source, "pdf", tmp_path)
    flat = convert_with_libreoffice(soffice_path(), source, "fodt", tmp_path)

    assert pdf.read_bytes().startswith(b"%PDF-")
    opened = flat.read_text(encoding="utf-8")
    assert opened.count("<office:annotation ") + opened.count("<office:annotation>") == len(data)
    assert opened.count("<office:annotation-end ") == len(data)
    assert "<dc:creator>Viet Nam</dc:creator>" in opened
