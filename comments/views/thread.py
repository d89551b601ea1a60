"""Threads, replies, endorsement, national positions, moderation. (Being written.)"""

from django.http import Http404


def _todo(request, *args, **kwargs):
    raise Http404


comment_detail = reply_list = reply_create = comment_endorse = comment_flag = comment_hide = comment_unhide = _todo
delegation_comments = national_position = _todo
