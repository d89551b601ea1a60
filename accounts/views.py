"""Account pages: profile settings and invitation acceptance. (Being written.)"""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


profile = invitation_accept = _todo
