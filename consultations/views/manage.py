"""Secretariat pages: consultation windows and participants. (Being written.)"""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


manage_overview = round_create = round_edit = round_open = round_close = round_extend = participants = _todo
