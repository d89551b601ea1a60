"""config.text: what is kept of pasted text, at input and on the way into documents and pages."""

import pytest
from django.urls import reverse

from accounts.forms import ProfileForm
from accounts.models import Organisation, Role, User
from comments import services as comment_services
from comments.models import Comment, Reply
from config.text import (
    attachment_disposition,
    clean_name,
    clean_text,
    filename_words,
    transliterate,
    visible_controls,
    xml_safe,
    xml_text,
)
from consultations import services as consultation_services
from consultations.importers import parse_upload
from consultations.models import Section
from tests.factories import CommentFactory
from tests.helpers.rounds import closed_round_on

# What Word's manual line break (Shift+Enter) and page break, a bell and an escape become when pasted.
CONTROLS = {"vertical-tab": "\x0b", "bell": "\x07", "form-feed": "\x0c", "escape": "\x1b"}
EVIL = "evil\u202eexe.live"


# --- the functions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("line one\x0bline two", "line one\nline two"),  # Word's Shift+Enter
        ("page one\x0cpage two", "page one\npage two"),  # Word's page break
        ("a\u2028b\u2029c", "a\nb\nc"),
        ("windows\r\nline\rmac", "windows\nline\nmac"),
        ("ding\x07 \x1b[31mred\x1b[0m", "ding [31mred[0m"),
        ("c1\x85next\x9bcsi\x80", "c1\nnextcsi"),
        ("tab\tkept\nnewline kept", "tab\tkept\nnewline kept"),
        ("Vie\u0302\u0323t Nam", "Việt Nam"),  # decomposed (as macOS pastes it) -> NFC
        ("ไทย ភាសាខ្មែរ ພາສາລາວ မြန်မာ", "ไทย ភាសាខ្មែរ ພາສາລາວ မြန်မာ"),
        ("bad\ud800surrogate\uffff", "badsurrogate"),
        (None, ""),
    ],
)
def test_clean_text_keeps_text_and_turns_breaks_into_newlines(given, stored):
    assert clean_text(given) == stored


def test_clean_text_is_idempotent():
    text = "a\x0bb\r\nc\x07\u2028d"
    assert clean_text(clean_text(text)) == clean_text(text)


def test_clean_name_drops_bidi_controls_and_zero_width_characters_and_keeps_one_line():
    assert clean_name(EVIL) == "evilexe.live"
    assert clean_name("Nguy\u200bễn\u200d Thu\u2066 Hà\ufeff") == "Nguyễn Thu Hà"
    assert clean_name("  Viet\x0b Nam\n ") == "Viet Nam"


def test_visible_controls_marks_every_bidi_and_invisible_character():
    assert visible_controls(EVIL) == "evil[U+202E]exe.live"
    assert visible_controls("a\u200bb\u2067c\ufeff") == "a[U+200B]b[U+2067]c[U+FEFF]"
    assert visible_controls("Việt Nam") == "Việt Nam"


def test_xml_safe_cleans_every_string_of_a_report_and_leaves_the_rest():
    from config.redline import Segment

    cleaned = xml_safe({"segments": [Segment("insert", "a\x0bb")], "count": 3, "pair": ("x\x07", 1)})
    assert cleaned == {"segments": [Segment("insert", "a\nb")], "count": 3, "pair": ("x", 1)}
    assert xml_text(None) == "" and xml_text(12) == "12"


@pytest.mark.parametrize(
    ("name", "header"),
    [
        ("report-12.xlsx", 'attachment; filename="report-12.xlsx"'),
        (
            "Báo cáo.docx",
            "attachment; filename=\"Bao cao.docx\"; filename*=UTF-8''B%C3%A1o%20c%C3%A1o.docx",
        ),
        (EVIL, 'attachment; filename="evilexe.live"'),
        (
            "adm-2030-vòng-góp-ý-sửa-đổi-v02-7.pdf",
            'attachment; filename="adm-2030-vong-gop-y-sua-doi-v02-7.pdf"; '
            "filename*=UTF-8''adm-2030-v%C3%B2ng-g%C3%B3p-%C3%BD-s%E1%BB%ADa-%C4%91%E1%BB%95i-v02-7.pdf",
        ),
        (
            'a"b\\c\r\nX-Injected: 1.csv',
            "attachment; filename=\"a_b_c X-Injected_ 1.csv\"; filename*=UTF-8''a%22b_c%20X-Injected%3A%201.csv",
        ),
    ],
)
def test_attachment_disposition_has_an_ascii_fallback_and_no_controls(name, header):
    made = attachment_disposition(name)
    assert made == header
    assert made.isascii() and "\r" not in made and "\n" not in made


@pytest.mark.parametrize(
    "text, ascii_text",
    [
        ("sửa đổi", "sua doi"),  # đ does not decompose: NFKD alone dropped it ("sua oi")
        ("ĐÀ NẴNG", "DA NANG"),
        ("Þórður Ægir", "Thordur AEgir"),
        ("Øresund Łódź", "Oresund Lodz"),
        ("Œuvre Straße", "OEuvre Strasse"),
        ("ที่นี่", ""),  # not Latin: nothing to transliterate to
    ],
)
def test_transliterate_keeps_every_latin_letter(text, ascii_text):
    assert transliterate(text) == ascii_text


@pytest.mark.parametrize(
    "title, words, ascii_words",
    [
        ("Vòng góp ý sửa đổi", "vòng-góp-ý-sửa-đổi", "vong-gop-y-sua-doi"),
        ("Round 2 – Draft v0.2", "round-2-draft-v02", "round-2-draft-v02"),
        ("ร่างที่ 2", "ร่างที่-2", "2"),  # Thai vowel signs and tone marks are marks: kept, not dropped
        ("ភាសាខ្មែរ", "ភាសាខ្មែរ", ""),
        ("a/b\\c\u202e:d", "abcd", "abcd"),
    ],
)
def test_filename_words_keep_the_words_of_any_script(title, words, ascii_words):
    assert filename_words(title) == words
    assert filename_words(title, ascii=True) == ascii_words


def test_filename_words_are_cut_at_a_word_end():
    assert filename_words("sửa đổi " * 40, max_length=20) == "sửa-đổi-sửa-đổi-sửa"


# --- input through the services is cleaned --------------------------------------------------


@pytest.mark.parametrize("char", CONTROLS.values(), ids=CONTROLS.keys())
def test_a_comment_and_a_reply_are_stored_cleaned(open_round, clause, vn_delegate, char):
    comment = comment_services.comment_create(
        actor=vn_delegate,
        engagement_round=open_round,
        section=clause,
        comment_type="te",
        body=f"Pasted from Word{char}on two lines.",
        proposed_change=f"Add{char}this.",
        submit=True,
    )
    reply = comment_services.reply_create(actor=vn_delegate, comment=comment, body=f"Agreed{char}fully.")

    comment.refresh_from_db()
    assert comment.body == clean_text(f"Pasted from Word{char}on two lines.")
    assert comment.proposed_change == clean_text(f"Add{char}this.")
    assert Reply.objects.get(pk=reply.pk).body == clean_text(f"Agreed{char}fully.")
    for text in (comment.body, comment.proposed_change, reply.body):
        assert char not in text
    assert Comment.objects.get(pk=comment.pk).revisions.get().body == comment.body


def test_a_comment_of_only_control_characters_is_empty(open_round, clause, vn_delegate):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="cannot be empty"):
        comment_services.comment_create(
            actor=vn_delegate, engagement_round=open_round, section=clause, comment_type="te", body="\x07\x1b\x0b "
        )
    assert not Comment.objects.exists()


def test_an_uploaded_draft_and_an_edited_section_are_stored_cleaned(consultation, version, secretariat):
    drafts = parse_upload(name="draft.md", data=b"# 1 Scope\n\nFirst line\x0bsecond\x07 line.\x0c\n")
    new = consultation_services.version_create(
        actor=secretariat, consultation=consultation, number="0.2", sections=drafts, title="Draft\x1b two"
    )
    section = new.sections.get()
    # Markdown: a single line break inside a paragraph is a space.
    assert (section.body, new.title) == ("First line second line.", "Draft two")

    consultation_services.section_update(actor=secretariat, section=section, heading="Sco\x07pe", body="a\x0bb")
    section = Section.objects.get(pk=section.pk)
    assert (section.heading, section.body) == ("Scope", "a\nb")


def test_names_given_at_input_lose_bidi_controls(client, vn_delegate):
    client.force_login(vn_delegate)

    client.post(reverse("accounts:profile"), {"full_name": f"Trần {EVIL}\u200b", "time_zone": ""})

    assert User.objects.get(pk=vn_delegate.pk).full_name == "Trần evilexe.live"
    form = ProfileForm(data={"full_name": "A\u202eB", "time_zone": ""}, instance=vn_delegate)
    assert form.is_valid() and form.cleaned_data["full_name"] == "AB"


def test_an_organisation_named_in_the_admin_loses_bidi_controls(db):
    organisation = Organisation(name=f"Org {EVIL}", kind=Role.PARTNER)
    organisation.full_clean()
    assert organisation.name == "Org evilexe.live"


# --- what is already stored is shown visibly -------------------------------------------------


def test_a_stored_name_with_a_bidi_override_shows_its_control_on_the_page(client, open_round, clause, vn_delegate):
    User.objects.filter(pk=vn_delegate.pk).update(full_name=EVIL)
    Organisation.objects.filter(pk=vn_delegate.organisation_id).update(name="Viet\u202eNam")
    comment = _comment(open_round, clause, vn_delegate)
    client.force_login(vn_delegate)

    page = client.get(reverse("comments:detail", args=[open_round.consultation.slug, comment.pk])).content.decode()

    assert "evil[U+202E]exe.live" in page and "Viet[U+202E]Nam" in page
    assert "\u202e" not in page


def _comment(engagement_round, section, author) -> Comment:
    return Comment.objects.create(
        round=engagement_round,
        section=section,
        author=author,
        organisation=author.organisation,
        type="te",
        body="A comment.",
        status=Comment.Status.SUBMITTED,
    )


def test_an_uploaded_file_name_is_stored_without_bidi_controls(open_round, orgs, secretariat, vn_delegate):
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile

    from consolidation.documents.matrix import write_template_xlsx
    from consolidation.services.imports import import_request

    out = io.BytesIO()
    write_template_xlsx(out)
    job = import_request(
        actor=secretariat,
        engagement_round=open_round,
        organisation=orgs["vn"],
        upload=SimpleUploadedFile("comments\u202exslx.exe", out.getvalue()),
    )
    assert job.file_name == "commentsxslx.exe"


def test_a_disposition_response_is_stored_cleaned(version, secretariat, vn_delegate):
    from consolidation.services.dispositions import disposition_record

    engagement_round = closed_round_on(version, title="First stakeholder engagement")
    comment = CommentFactory(
        round=engagement_round,
        section=version.sections.get(key="infra-5g"),
        author=vn_delegate,
        status=Comment.Status.SUBMITTED,
    )

    disposition = disposition_record(
        actor=secretariat, comment=comment, decision="noted", response="Noted\x0bwith\x07 thanks."
    )

    disposition.refresh_from_db()
    assert disposition.response == "Noted\nwith thanks."
