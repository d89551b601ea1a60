"""Settings for the manage.py subprocesses of tests/transfer: the test settings, files on disk.

The test settings keep stored files in memory, which a second process cannot see; the import
and the second export run in processes of their own, so their files live under MEDIA_ROOT.
"""

from config.settings.test import *  # noqa: F403

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
