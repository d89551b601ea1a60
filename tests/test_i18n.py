"""Every user-facing string is translated into Vietnamese, and the shipped catalogue is current."""

import shutil
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from django.urls import reverse
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "vi" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _entries(po):
    return [e for e in po if not e.obsolete]


def test_every_vietnamese_string_is_translated():
    po = polib.pofile(str(PO))
    missing = [e.msgid for e in _entries(po) if not e.translated()]
    fuzzy = [e.msgid for e in _entries(po) if "fuzzy" in e.flags]
    assert not missing, f"{len(missing)} untranslated, e.g. {missing[:5]}"
    assert not fuzzy, f"{len(fuzzy)} fuzzy, e.g. {fuzzy[:5]}"


def test_compiled_catalogue_matches_the_po_file():
    po = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in _entries(polib.pofile(str(PO)))}
    mo = {(e.msgctxt, e.msgid): (e.msgstr, e.msgstr_plural) for e in polib.mofile(str(MO))}
    mo.pop((None, ""), None)  # the header
    assert po == mo, "locale/vi/LC_MESSAGES/django.mo is stale: run `make messages`"


SKIPPED_DIRS = {".git", ".venv", "locale", "tests", "staticfiles", "media", "var", "node_modules", "benchmarks"}


@pytest.mark.gettext
def test_catalogue_holds_every_string_in_the_code(tmp_path, monkeypatch):
    # makemessages writes into any "locale" folder it sees from the working directory, so it
    # runs in a copy of the source tree with a copy of the catalogue, never on the real one.
    base = Path(settings.BASE_DIR)
    for child in base.iterdir():
        if child.is_dir() and child.name not in SKIPPED_DIRS and not child.name.startswith("."):
            shutil.copytree(child, tmp_path / child.name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(PO.parents[2], tmp_path / "locale")
    monkeypatch.chdir(tmp_path)
    with override_settings(LOCALE_PATHS=[str(tmp_path / "locale")]):
        call_command("makemessages", locale=["vi"], verbosity=0)
    fresh = {e.msgid for e in _entries(polib.pofile(str(tmp_path / "locale" / "vi" / "LC_MESSAGES" / "django.po")))}
    shipped = {e.msgid for e in _entries(polib.pofile(str(PO)))}
    assert not (fresh - shipped), f"strings missing from the catalogue: {sorted(fresh - shipped)[:10]}"


def test_pages_render_in_vietnamese(client, vn_delegate, open_round):
    client.force_login(vn_delegate)
    response = client.get(reverse("consultations:detail", args=["adm-2030"]), HTTP_ACCEPT_LANGUAGE="vi")
    with translation.override("vi"):
        expected = translation.gettext("Engagement rounds")
    assert expected != "Engagement rounds"
    assert expected in response.content.decode()


def test_round_countdown_reads_in_vietnamese(client, vn_delegate, open_round):
    """Django's own Vietnamese catalogue lacks the duration words; ours supplies them."""
    client.force_login(vn_delegate)
    page = client.get(reverse("consultations:detail", args=["adm-2030"]), HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    assert "ngày" in page
    assert " days" not in page and " day" not in page
