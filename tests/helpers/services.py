"""What the test run may rely on: CI=true, and the external services and tools some tests use.

Tests declare what they need with a marker (tests/conftest.py skips them where it is missing,
and under CI=true fails the run instead). A fixture that finds a tool missing calls `require`,
which does the same for one test.
"""

import os
import shutil
import socket

import pytest

CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


# LibreOffice's Calc (templates re-saved as a delegation would) and Writer (the Word reports):
# the binary alone is not enough, each is a package of its own on Debian.
LIBREOFFICE_MODULES = ("libsclo.so", "libswlo.so")


def soffice_path() -> str | None:
    """soffice, when LibreOffice can open both spreadsheets and Word files; else None."""
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if path is None:
        return None
    program = os.path.dirname(os.path.realpath(path))
    if not all(os.path.exists(os.path.join(program, module)) for module in LIBREOFFICE_MODULES):
        return None
    return path


def xgettext_path() -> str | None:
    return shutil.which("xgettext")


def pdftotext_path() -> str | None:
    """poppler-utils: pdftotext reads a PDF's text as a reader's viewer would, pdftoppm renders its pages."""
    return shutil.which("pdftotext") if shutil.which("pdftoppm") else None


def redis_server_path() -> str | None:
    return shutil.which("redis-server")


def require(available: object, reason: str) -> None:
    """Skip the calling test when `available` is falsy; under CI=true fail it instead."""
    if available:
        return
    if CI:
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)
