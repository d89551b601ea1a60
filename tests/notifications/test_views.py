"""The inbox page: a window, read and unread, another person's notification is a 404, the header's count."""

import pytest
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from tests.factories import CommentFactory, NotificationFactory, ReplyFactory


@pytest.fixture
def thread(open_round, clause, vn_delegate):
    return CommentFactory(round=open_round, section=clause, author=vn_delegate)


def replies_to(thread, recipient, author, count: int) -> list[Notification]:
    return [
        NotificationFactory(
            reply=ReplyFactory(comment=thread, author=author, organisation=author.organisation), recipient=recipient
        )
        for _ in range(count)
    ]


def test_inbox_lists_the_persons_notifications_newest_first_with_links(client, thread, vn_delegate, vn_focal_point):
    older, newer = replies_to(thread, vn_delegate, vn_focal_point, 2)
    Notification.objects.filter(pk=older.pk).update(created_at=timezone.now() - timezone.timedelta(days=1))
    client.force_login(vn_delegate)

    page = client.get(reverse("notifications:inbox")).content.decode()

    assert page.index(f'id="notification-{newer.pk}"') < page.index(f'id="notification-{older.pk}"')
    assert reverse("notifications:open", args=[newer.pk]) in page
    assert "2 unread" in page


def test_someone_elses_notifications_are_not_listed_and_are_404(client, thread, vn_delegate, vn_focal_point):
    (theirs,) = replies_to(thread, vn_focal_point, vn_delegate, 1)
    client.force_login(vn_delegate)

    assert f"notification-{theirs.pk}" not in client.get(reverse("notifications:inbox")).content.decode()
    assert client.get(reverse("notifications:open", args=[theirs.pk])).status_code == 404
    assert client.post(reverse("notifications:read", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_a_notification_marks_it_read_and_leads_to_the_thread(client, thread, vn_delegate, vn_focal_point):
    (notification,) = replies_to(thread, vn_delegate, vn_focal_point, 1)
    client.force_login(vn_delegate)

    response = client.get(reverse("notifications:open", args=[notification.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("comments:detail", args=["adm-2030", thread.pk]) + "#replies"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_mark_one_and_mark_all_as_read(client, thread, vn_delegate, vn_focal_point):
    first, *rest = replies_to(thread, vn_delegate, vn_focal_point, 3)
    (someone_elses,) = replies_to(thread, vn_focal_point, vn_delegate, 1)
    client.force_login(vn_delegate)

    client.post(reverse("notifications:read", args=[first.pk]))
    assert Notification.objects.filter(recipient=vn_delegate, read_at__isnull=True).count() == 2

    response = client.post(reverse("notifications:read_all"), follow=True)

    assert "0 unread" in response.content.decode()
    assert not Notification.objects.filter(recipient=vn_delegate, read_at__isnull=True).exists()
    someone_elses.refresh_from_db()
    assert someone_elses.read_at is None


def test_the_header_shows_the_unread_count_on_every_page(client, thread, vn_delegate, vn_focal_point):
    replies_to(thread, vn_delegate, vn_focal_point, 3)
    client.force_login(vn_delegate)

    page = client.get(reverse("consultations:list")).content.decode()

    assert '<span class="badge">3<span class="visually-hidden"> unread</span></span>' in page


def test_the_header_count_stops_at_99_plus(client, thread, vn_delegate, vn_focal_point):
    replies_to(thread, vn_delegate, vn_focal_point, 101)
    client.force_login(vn_delegate)

    page = client.get(reverse("accounts:profile")).content.decode()

    assert '<span class="badge">99+<span class="visually-hidden"> unread</span></span>' in page


@pytest.mark.parametrize("size", [3, 60])
def test_inbox_costs_the_same_queries_at_two_sizes(
    client, thread, vn_delegate, vn_focal_point, django_assert_num_queries, size
):
    replies_to(thread, vn_delegate, vn_focal_point, size)
    client.force_login(vn_delegate)
    client.get(reverse("notifications:inbox"))  # warm the session

    # session, user, the page's count and window, the unread count, and the header's.
    with django_assert_num_queries(6):
        response = client.get(reverse("notifications:inbox"))

    assert response.content.decode().count('id="notification-') == min(size, 25)


def test_the_header_count_costs_one_query(client, thread, vn_delegate, vn_focal_point, django_assert_max_num_queries):
    replies_to(thread, vn_delegate, vn_focal_point, 5)
    client.force_login(vn_delegate)
    url = reverse("accounts:profile")
    client.get(url)

    with django_assert_max_num_queries(50) as with_notifications:
        client.get(url)
    Notification.objects.all().delete()
    with django_assert_max_num_queries(50) as without_notifications:
        client.get(url)

    counts = [q["sql"] for q in with_notifications.captured_queries if "notifications_notification" in q["sql"]]
    assert len(counts) == 1
    assert len(with_notifications.captured_queries) == len(without_notifications.captured_queries)
