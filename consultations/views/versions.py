"""Versions and sections: upload, edit, publish. (Being written.)"""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


version_upload = version_copy = version_edit = version_publish = section_add = section_edit = section_delete = _todo
