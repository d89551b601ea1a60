"""The inbox: a window of the person's notifications, marking them read, opening the thing."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from . import selectors, services


@login_required
@require_GET
def inbox(request):
    page = selectors.inbox(user=request.user, page_number=request.GET.get("page"))
    return render(request, "notifications/inbox.html", {"inbox": page})


@login_required
@require_GET
def open_notification(request, pk: int):
    """Follow a notification to the thing it is about; it counts as read."""
    notification = services.notification_mark_read(user=request.user, notification_id=pk)
    return redirect(selectors.target_url(notification))


@login_required
@require_POST
def mark_read(request, pk: int):
    services.notification_mark_read(user=request.user, notification_id=pk)
    return _back(request)


@login_required
@require_POST
def mark_all_read(request):
    count = services.notifications_mark_all_read(user=request.user)
    if count:
        messages.success(request, _("All your notifications are marked as read."))
    return _back(request)


def _back(request):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return redirect(target)
    return redirect("notifications:inbox")
