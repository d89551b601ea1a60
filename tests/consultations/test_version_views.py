"""The secretariat's version pages: upload a draft, edit its sections, publish it."""

import io

import docx
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from consultations.models import DraftVersion, Section
from tests import factories
from tests.helpers.drafts import FIVE_G

SLUG = "adm-2030"

MARKDOWN_0_2 = """\
# 1 Strategic outcomes

## 1.1 Seamless and inclusive digital infrastructure

### 1.1.1 5G and 6G networks

Member states will extend 5G coverage to all urban and rural areas by 2030.

### 1.1.3 Submarine cables

- landing stations
- repair ships
"""


def docx_upload(name, build):
    document = docx.Document()
    build(document)
    buffer = io.BytesIO()
    document.save(buffer)
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="application/octet-stream")


def md_upload(text, name="draft-0.2.md"):
    return SimpleUploadedFile(name, text.encode() if isinstance(text, str) else text, content_type="text/markdown")


def upload(client, file, number="0.2", **extra):
    data = {"number": number, "file": file, "title": "", "change_summary": "", **extra}
    return client.post(reverse("consultations:version_upload", args=[SLUG]), data)


def counts():
    return DraftVersion.objects.count(), Section.objects.count()


def tree_of(version):
    return [
        (s.depth, s.kind, s.number, s.heading, s.body, s.parent.heading if s.parent else None)
        for s in version.sections.select_related("parent").order_by("position")
    ]


@pytest.fixture
def draft(version):
    """Draft 0.2 in preparation, copied by hand from 0.1."""
    draft = factories.DraftVersionFactory(
        consultation=version.consultation,
        number="0.2",
        status=DraftVersion.Status.DRAFT,
        published_at=None,
        previous=version,
    )
    factories.build_sections(
        draft,
        [
            ("outcomes", "1", "Strategic outcomes", "", None),
            ("infra", "1.1", "Seamless and inclusive digital infrastructure", "", "outcomes"),
            ("infra-5g", "1.1.1", "5G and 6G networks", FIVE_G, "infra"),
            ("governance", "2", "Governance", "", None),
        ],
    )
    return draft


# --- uploading ----------------------------------------------------------------------------


def test_secretariat_uploads_markdown_and_sees_the_section_tree(client, secretariat, version):
    client.force_login(secretariat)
    response = upload(client, md_upload(MARKDOWN_0_2), change_summary="Rural coverage added.")

    edit_url = reverse("consultations:version_edit", args=[SLUG, "0.2"])
    assert response.status_code == 302
    assert response["Location"] == edit_url
    new = DraftVersion.objects.get(consultation=version.consultation, number="0.2")
    assert not new.is_published
    assert new.previous == version
    assert new.source_name == "draft-0.2.md"
    assert tree_of(new) == [
        (0, "component", "1", "Strategic outcomes", "", None),
        (1, "chapter", "1.1", "Seamless and inclusive digital infrastructure", "", "Strategic outcomes"),
        (
            2,
            "clause",
            "1.1.1",
            "5G and 6G networks",
            "Member states will extend 5G coverage to all urban and rural areas by 2030.",
            "Seamless and inclusive digital infrastructure",
        ),
        (
            2,
            "clause",
            "1.1.3",
            "Submarine cables",
            "- landing stations\n- repair ships",
            "Seamless and inclusive digital infrastructure",
        ),
    ]

    page = client.get(edit_url)
    html = page.content.decode()
    assert "Version 0.2 was created as a draft" in html
    assert "1.1.3 Submarine cables" in html
    assert reverse("consultations:version_publish", args=[SLUG, "0.2"]) in html


def test_unchanged_sections_keep_their_keys_from_the_previous_version(client, secretariat, version):
    client.force_login(secretariat)
    upload(client, md_upload(MARKDOWN_0_2))

    keys = dict(
        Section.objects.filter(version__number="0.2", version__consultation=version.consultation).values_list(
            "number", "key"
        )
    )
    assert keys["1"] == "outcomes"
    assert keys["1.1"] == "infra"
    assert keys["1.1.1"] == "infra-5g"  # text changed, same clause
    assert keys["1.1.3"] not in {"outcomes", "infra", "infra-5g", "infra-dc"}


def test_consultant_uploads_a_word_document_in_vietnamese(client, consultant, version):
    heading = "Chuyển đổi số toàn diện"
    body = "Việt Nam đặt mục tiêu phủ sóng 5G ở mọi đô thị trước năm 2028. ข้อความ 🌏 التحول"

    def build(document):
        document.add_heading("Kế hoạch tổng thể số ASEAN 2030", level=0)
        document.add_heading(f"2.3. {heading}", level=1)
        document.add_paragraph(body)

    client.force_login(consultant)
    response = upload(client, docx_upload("Dự thảo 0.2.docx", build), title="Bản dự thảo")

    assert response.status_code == 302
    new = DraftVersion.objects.get(number="0.2")
    assert new.title == "Bản dự thảo"
    assert new.source_name == "Dự thảo 0.2.docx"
    section = new.sections.get()
    assert (section.number, section.heading, section.body) == ("2.3", heading, body)

    page = client.get(reverse("consultations:version_edit", args=[SLUG, "0.2"])).content.decode()
    assert heading in page
    reading = client.get(reverse("comments:section", args=[SLUG, "0.2", section.key])).content.decode()
    assert body in reading


def test_upload_page_suggests_the_next_version_number(client, secretariat, version):
    client.force_login(secretariat)
    response = client.get(reverse("consultations:version_upload", args=[SLUG]))
    assert response.status_code == 200
    assert response.context["form"]["number"].value() == "0.2"
    assert 'enctype="multipart/form-data"' in response.content.decode()


@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("secretariat", 200),
        ("consultant", 200),
        ("admin", 200),
        ("vn_delegate", 403),
        ("vn_focal_point", 403),
        ("partner", 403),
        ("outsider", 404),
    ],
)
def test_who_may_open_the_upload_page(client, personas, version, persona, status):
    client.force_login(personas[persona])
    assert client.get(reverse("consultations:version_upload", args=[SLUG])).status_code == status


@pytest.mark.parametrize(("persona", "status"), [("vn_delegate", 403), ("partner", 403), ("outsider", 404)])
def test_participants_without_the_role_cannot_upload(client, personas, version, persona, status):
    client.force_login(personas[persona])
    before = counts()
    assert upload(client, md_upload(MARKDOWN_0_2)).status_code == status
    assert counts() == before


def test_anonymous_visitor_is_sent_to_log_in(client, version):
    response = client.get(reverse("consultations:version_upload", args=[SLUG]))
    assert response.status_code == 302
    assert reverse("account_login") in response["Location"]


def _pdf():
    return SimpleUploadedFile(
        "draft.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << >>", content_type="application/pdf"
    )


def _renamed_pdf():
    return SimpleUploadedFile("draft.docx", b"%PDF-1.7\n1 0 obj << >>", content_type="application/octet-stream")


def _corrupt_docx():
    good = docx_upload("draft.docx", lambda d: d.add_heading("Vision", level=1)).read()
    return SimpleUploadedFile("draft.docx", good[: len(good) // 2])


def _junk():
    return SimpleUploadedFile("draft.md", bytes(range(256)) * 4)


def _windows_1258():
    return SimpleUploadedFile("draft.md", "# Chương 1\n\nĐà".encode("cp1258"))


def _no_headings_docx():
    return docx_upload("draft.docx", lambda d: d.add_paragraph("Only body text, no headings."))


@pytest.mark.parametrize(
    ("make_file", "number", "field", "message"),
    [
        (_pdf, "0.2", "file", "PDF files cannot be split into sections"),
        (_renamed_pdf, "0.2", "file", "PDF files cannot be split into sections"),
        (_corrupt_docx, "0.2", "file", "This file is not a readable Word document (.docx)"),
        (_junk, "0.2", "file", "This text file is not in UTF-8"),
        (_windows_1258, "0.2", "file", "This text file is not in UTF-8"),
        (lambda: md_upload("Just a paragraph.\n\nAnd another."), "0.2", "file", "The document has no headings"),
        (_no_headings_docx, "0.2", "file", "The document has no headings"),
        (lambda: md_upload(MARKDOWN_0_2), "0.1", "number", "Version 0.1 already exists."),
        (lambda: md_upload(MARKDOWN_0_2), "0.0", "number", "The new version must be numbered after 0.1."),
        (lambda: md_upload(MARKDOWN_0_2), "version two", "number", "A version number looks like 0.1, 0.2 or 1.0."),
    ],
)
def test_bad_uploads_show_the_error_and_change_nothing(client, secretariat, version, make_file, number, field, message):
    client.force_login(secretariat)
    before = counts()

    response = upload(client, make_file(), number=number)

    assert response.status_code == 200
    assert response.context["form"].errors[field] == [message] or message in " ".join(
        response.context["form"].errors[field]
    )
    assert message in response.content.decode()
    assert counts() == before


def test_a_file_over_the_size_limit_is_refused(client, secretariat, version, settings):
    settings.DRAFT_UPLOAD_MAX_BYTES = 2048
    client.force_login(secretariat)
    before = counts()

    response = upload(client, md_upload("# Vision\n\n" + "Connectivity for all. " * 200))

    assert response.status_code == 200
    assert "a draft can be at most 2.0" in response.content.decode()
    assert counts() == before


def test_missing_file_is_a_field_error(client, secretariat, version):
    client.force_login(secretariat)
    before = counts()
    response = client.post(reverse("consultations:version_upload", args=[SLUG]), {"number": "0.2"})
    assert response.status_code == 200
    assert "file" in response.context["form"].errors
    assert counts() == before


# --- editing sections ---------------------------------------------------------------------


def test_edit_page_lists_the_tree_with_edit_and_delete_links(client, secretariat, draft):
    client.force_login(secretariat)
    html = client.get(reverse("consultations:version_edit", args=[SLUG, "0.2"])).content.decode()
    for key in ("outcomes", "infra", "infra-5g", "governance"):
        assert reverse("consultations:section_edit", args=[SLUG, "0.2", key]) in html
        assert reverse("consultations:section_delete", args=[SLUG, "0.2", key]) in html
    assert "1.1.1 5G and 6G networks" in html
    assert reverse("consultations:section_add", args=[SLUG, "0.2"]) in html


def test_secretariat_edits_a_section_of_a_draft(client, secretariat, draft):
    client.force_login(secretariat)
    url = reverse("consultations:section_edit", args=[SLUG, "0.2", "infra-5g"])
    assert "Member states will extend 5G" in client.get(url).content.decode()

    response = client.post(
        url, {"number": "1.1.1", "heading": "5G và 6G", "body": "Phủ sóng 5G toàn quốc.\n\nHai đoạn."}
    )

    assert response.status_code == 302
    section = draft.sections.get(key="infra-5g")
    assert (section.heading, section.body) == ("5G và 6G", "Phủ sóng 5G toàn quốc.\n\nHai đoạn.")


def test_a_section_needs_a_heading(client, secretariat, draft):
    client.force_login(secretariat)
    url = reverse("consultations:section_edit", args=[SLUG, "0.2", "infra-5g"])
    response = client.post(url, {"number": "1.1.1", "heading": "   ", "body": "x"})
    assert response.status_code == 200
    assert response.context["form"].errors["heading"]
    assert draft.sections.get(key="infra-5g").heading == "5G and 6G networks"


def test_sections_of_a_published_version_cannot_be_edited(client, secretariat, version):
    client.force_login(secretariat)
    message = "Version 0.1 is published and can no longer change."
    url = reverse("consultations:section_edit", args=[SLUG, "0.1", "infra-5g"])

    page = client.get(url).content.decode()
    assert message in page
    assert reverse("consultations:version_copy", args=[SLUG, "0.1"]) in page

    response = client.post(url, {"number": "9", "heading": "Changed", "body": "Changed"})
    assert response.status_code == 200
    assert message in response.content.decode()
    section = version.sections.get(key="infra-5g")
    assert (section.number, section.heading) == ("1.1.1", "5G and 6G networks")


def test_sections_of_a_published_version_cannot_be_added_or_deleted(client, secretariat, version):
    client.force_login(secretariat)
    before = counts()
    add = client.post(reverse("consultations:section_add", args=[SLUG, "0.1"]), {"parent": "", "heading": "New"})
    delete = client.post(reverse("consultations:section_delete", args=[SLUG, "0.1", "infra-dc"]))
    assert add.status_code == delete.status_code == 200
    assert "is published and can no longer change" in add.content.decode()
    assert "is published and can no longer change" in delete.content.decode()
    assert counts() == before


def test_published_edit_page_offers_the_next_version_instead_of_edit_links(client, secretariat, version):
    client.force_login(secretariat)
    html = client.get(reverse("consultations:version_edit", args=[SLUG, "0.1"])).content.decode()
    assert "Version 0.1 is published and can no longer change." in html
    assert reverse("consultations:version_copy", args=[SLUG, "0.1"]) in html
    assert reverse("consultations:section_edit", args=[SLUG, "0.1", "infra-5g"]) not in html
    assert reverse("consultations:version_publish", args=[SLUG, "0.1"]) not in html


def test_section_added_under_a_chapter_goes_after_its_clauses(client, consultant, draft):
    client.force_login(consultant)
    response = client.post(
        reverse("consultations:section_add", args=[SLUG, "0.2"]),
        {"parent": "infra", "number": "1.1.2", "heading": "Data centres", "body": "Green power."},
    )
    assert response.status_code == 302
    assert [(s.number, s.heading, s.depth) for s in draft.sections.order_by("position")] == [
        ("1", "Strategic outcomes", 0),
        ("1.1", "Seamless and inclusive digital infrastructure", 1),
        ("1.1.1", "5G and 6G networks", 2),
        ("1.1.2", "Data centres", 2),
        ("2", "Governance", 0),
    ]
    assert draft.sections.get(number="1.1.2").parent.key == "infra"


def test_clauses_are_not_offered_as_parents(client, secretariat, draft):
    client.force_login(secretariat)
    before = counts()
    response = client.post(
        reverse("consultations:section_add", args=[SLUG, "0.2"]), {"parent": "infra-5g", "heading": "Too deep"}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["parent"]
    assert counts() == before


def test_deleting_a_section_asks_first_and_takes_its_subsections(client, secretariat, draft):
    client.force_login(secretariat)
    url = reverse("consultations:section_delete", args=[SLUG, "0.2", "infra"])

    page = client.get(url).content.decode()
    assert "Its 1 subsection is deleted with it." in page
    assert draft.sections.count() == 4

    response = client.post(url)
    assert response.status_code == 302
    assert sorted(draft.sections.values_list("key", flat=True)) == ["governance", "outcomes"]


def test_unknown_section_is_404(client, secretariat, draft):
    client.force_login(secretariat)
    assert client.get(reverse("consultations:section_edit", args=[SLUG, "0.2", "nope"])).status_code == 404


@pytest.mark.parametrize(("persona", "status"), [("vn_delegate", 403), ("outsider", 404)])
def test_only_managers_reach_the_edit_pages(client, personas, draft, persona, status):
    client.force_login(personas[persona])
    before = counts()
    assert client.get(reverse("consultations:version_edit", args=[SLUG, "0.2"])).status_code == status
    urls = [
        reverse("consultations:section_add", args=[SLUG, "0.2"]),
        reverse("consultations:section_edit", args=[SLUG, "0.2", "infra-5g"]),
        reverse("consultations:section_delete", args=[SLUG, "0.2", "infra-5g"]),
        reverse("consultations:version_publish", args=[SLUG, "0.2"]),
        reverse("consultations:version_copy", args=[SLUG, "0.1"]),
    ]
    for url in urls:
        assert client.get(url).status_code == status
        assert client.post(url, {"heading": "x", "number": "0.3"}).status_code == status
    assert counts() == before
    assert not DraftVersion.objects.get(number="0.2").is_published


# --- publishing and the next version ------------------------------------------------------


def test_publishing_asks_first_then_freezes_the_version(client, secretariat, draft):
    client.force_login(secretariat)
    url = reverse("consultations:version_publish", args=[SLUG, "0.2"])

    page = client.get(url)
    assert page.status_code == 200
    assert "Publish version 0.2?" in page.content.decode()
    draft.refresh_from_db()
    assert not draft.is_published

    response = client.post(url, follow=True)
    draft.refresh_from_db()
    assert draft.is_published
    assert draft.published_at is not None
    assert "Version 0.2 is published." in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("consultations:version", args=[SLUG, "0.2"])


def test_publishing_twice_shows_an_error(client, secretariat, version):
    client.force_login(secretariat)
    published_at = version.published_at
    response = client.post(reverse("consultations:version_publish", args=[SLUG, "0.1"]))
    assert response.status_code == 200
    assert "Version 0.1 is already published." in response.content.decode()
    version.refresh_from_db()
    assert version.published_at == published_at


def test_next_version_starts_as_a_copy_with_the_same_keys(client, consultant, version):
    client.force_login(consultant)
    url = reverse("consultations:version_copy", args=[SLUG, "0.1"])
    assert client.get(url).context["form"]["number"].value() == "0.2"

    response = client.post(url, {"number": "0.2", "change_summary": "After round one."})

    assert response.status_code == 302
    assert response["Location"] == reverse("consultations:version_edit", args=[SLUG, "0.2"])
    copy = DraftVersion.objects.get(number="0.2")
    assert not copy.is_published
    assert list(copy.sections.order_by("position").values_list("key", "number", "heading", "body", "depth")) == list(
        version.sections.order_by("position").values_list("key", "number", "heading", "body", "depth")
    )


def test_copy_with_a_taken_number_shows_the_error(client, secretariat, version):
    client.force_login(secretariat)
    before = counts()
    response = client.post(reverse("consultations:version_copy", args=[SLUG, "0.1"]), {"number": "0.1"})
    assert response.status_code == 200
    assert response.context["form"].errors["number"] == ["Version 0.1 already exists."]
    assert counts() == before


# --- queries ------------------------------------------------------------------------------


def _draft_with_sections(consultation, count):
    draft = factories.DraftVersionFactory(
        consultation=consultation, number="0.9", status=DraftVersion.Status.DRAFT, published_at=None
    )
    parents = {}
    for position in range(1, count + 1):
        depth = (position - 1) % 3
        section = factories.SectionFactory(
            version=draft,
            position=position,
            depth=depth,
            parent=parents.get(depth - 1),
            kind=[Section.Kind.COMPONENT, Section.Kind.CHAPTER, Section.Kind.CLAUSE][depth],
        )
        parents[depth] = section
    return draft


def test_edit_page_queries_do_not_grow_with_the_number_of_sections(
    client, secretariat, consultation, django_assert_num_queries
):
    client.force_login(secretariat)
    url = reverse("consultations:version_edit", args=[SLUG, "0.9"])
    draft = _draft_with_sections(consultation, 5)
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200

    for position in range(6, 51):
        factories.SectionFactory(version=draft, position=position, depth=0, kind=Section.Kind.COMPONENT)
    assert draft.sections.count() == 50
    with django_assert_num_queries(len(small.captured_queries)):
        response = client.get(url)
    assert response.status_code == 200
    assert len(small.captured_queries) <= 8
