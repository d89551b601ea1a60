"""Report file names: stored in ASCII, downloaded with the words of the titles they come from.

The stored name (storage keys, S3 object names, backups) is ASCII and unique by the report's id:
"adm-2030-revision-report-vong-gop-y-sua-doi-v02-17.pdf". The name a download is saved under
keeps the words, in any script, in the language of whoever downloads it:
"adm-2030-báo-cáo-sửa-đổi-vòng-góp-ý-sửa-đổi-v02-17.pdf", sent as RFC 6266 filename* with the
ASCII name as the fallback (config.text.attachment_disposition).
"""

from __future__ import annotations

from django.utils.translation import gettext as _

from config.text import filename_words

from .models import Report


def _title(report: Report) -> str:
    parts = [report.consultation.slug, report.get_kind_display()]
    if report.round is not None:
        parts.append(report.round.title)
    if report.version is not None:
        parts.append("v" + report.version.number)
    return " ".join(parts)


def report_storage_name(report: Report) -> str:
    stem = filename_words(_title(report), ascii=True) or "report"
    return f"{stem}-{report.pk}.{report.format}"


def report_download_name(report: Report) -> str:
    stem = filename_words(_title(report)) or "report"
    return f"{stem}-{report.pk}.{report.format}"


def template_download_name(consultation) -> str:
    """The blank comment template of a consultation: "adm-2030-comment-template.xlsx"."""
    return filename_words(f"{consultation.slug} {_('comment template')}") + ".xlsx"
