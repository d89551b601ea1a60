"""File downloads: one response for every file the platform hands out, named with its words."""

from __future__ import annotations

from django.http import FileResponse

from .text import attachment_disposition


def file_download(fileobj, name: str) -> FileResponse:
    """A streamed attachment saved as `name`: filename* keeps the words, filename= is the ASCII fallback."""
    response = FileResponse(fileobj, as_attachment=True, filename=name)
    response["Content-Disposition"] = attachment_disposition(name)
    return response
