"""Start a draft version from an uploaded document: the one path for the page, the API and the importer.

version_create_from_upload checks the file's size before reading it, parses it into a section
tree (consultations.importers.parse_upload, which checks the size of what it is given again)
and creates the version (services.version_create). A refusal of the file is a ValidationError
on "file"; the others are version_create's (e.g. on "number").
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile

from .importers import check_draft_size, parse_upload
from .models import Consultation, DraftVersion
from .services import SectionDraft, version_create

SOURCE_NAME_MAX = 255


def sections_from_upload(upload: UploadedFile) -> list[SectionDraft]:
    """The section tree of an uploaded draft; a refusal is a ValidationError on "file"."""
    try:
        # Refuse before reading a huge temporary file into memory.
        check_draft_size(upload.size)
        upload.seek(0)
        return parse_upload(name=upload.name or "", data=upload.read())
    except ValidationError as exc:
        raise ValidationError({"file": exc.error_list}) from exc


def version_create_from_upload(
    *,
    actor,
    consultation: Consultation,
    number: str,
    upload: UploadedFile,
    change_summary: str = "",
    title: str = "",
) -> DraftVersion:
    """A new draft version whose sections are the headings of the uploaded document (.docx or .md)."""
    sections = sections_from_upload(upload)
    return version_create(
        actor=actor,
        consultation=consultation,
        number=number,
        sections=sections,
        change_summary=change_summary,
        title=title,
        source_name=(upload.name or "")[:SOURCE_NAME_MAX],
    )
