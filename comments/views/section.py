"""Writing comments on a section. (Being written.)"""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


comment_create = comment_edit = comment_submit = comment_withdraw = _todo
