"""The profile page: name, time zone (which changes how every date is shown), security links."""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from consultations.models import EngagementRound
from tests import factories


@pytest.fixture
def round_closing_at_ten_utc(version):
    closes_at = datetime(2031, 1, 15, 10, 0, tzinfo=UTC)
    return factories.EngagementRoundFactory(
        version=version,
        title="First stakeholder engagement",
        state=EngagementRound.State.OPEN,
        opens_at=timezone.now() - timedelta(days=1),
        closes_at=closes_at,
        final_closes_at=closes_at,
    )


def test_profile_needs_login(client, db):
    response = client.get(reverse("accounts:profile"))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_profile_links_to_password_email_and_two_factor_pages(client, vn_delegate, consultation):
    client.force_login(vn_delegate)

    text = client.get(reverse("accounts:profile")).content.decode()

    for name in ("account_change_password", "account_email", "mfa_index", "mfa_activate_totp"):
        assert f'href="{reverse(name)}"' in text, name
    assert vn_delegate.email in text
    assert consultation.title in text


def test_changing_time_zone_changes_round_times_on_consultation_page(
    client, settings, vn_delegate, consultation, round_closing_at_ten_utc
):
    settings.TIME_ZONE = "UTC"
    client.force_login(vn_delegate)
    detail = reverse("consultations:detail", args=[consultation.slug])
    before = client.get(detail).content.decode()
    assert 'datetime="2031-01-15T10:00:00+00:00"' in before
    assert "15 January 2031, 10:00" in before

    response = client.post(
        reverse("accounts:profile"), {"full_name": vn_delegate.full_name, "time_zone": "Asia/Ho_Chi_Minh"}
    )
    assert response.status_code == 302

    vn_delegate.refresh_from_db()
    assert vn_delegate.time_zone == "Asia/Ho_Chi_Minh"
    after = client.get(detail).content.decode()
    assert 'datetime="2031-01-15T17:00:00+07:00"' in after
    assert "15 January 2031, 17:00" in after
    assert "Times are shown in Asia/Ho_Chi_Minh." in after


def test_changing_name_and_clearing_time_zone_falls_back_to_site_default(client, settings, vn_delegate):
    settings.TIME_ZONE = "UTC"
    User.objects.filter(pk=vn_delegate.pk).update(time_zone="Asia/Bangkok")
    client.force_login(vn_delegate)

    response = client.post(reverse("accounts:profile"), {"full_name": "Tran Van Minh", "time_zone": ""})

    assert response.status_code == 302
    vn_delegate.refresh_from_db()
    assert (vn_delegate.full_name, vn_delegate.time_zone) == ("Tran Van Minh", "")
    assert "Times are shown in UTC." in client.get(reverse("accounts:profile")).content.decode()


def test_invalid_time_zone_is_a_form_error_and_changes_nothing(client, vn_delegate):
    User.objects.filter(pk=vn_delegate.pk).update(time_zone="Asia/Bangkok")
    client.force_login(vn_delegate)

    response = client.post(reverse("accounts:profile"), {"full_name": "Changed Name", "time_zone": "Mars/Olympus_Mons"})

    assert response.status_code == 200
    assert "Select a valid choice." in response.content.decode()
    vn_delegate.refresh_from_db()
    assert vn_delegate.time_zone == "Asia/Bangkok"
    assert vn_delegate.full_name != "Changed Name"


def test_language_and_email_frequency_are_chosen_on_the_profile(client, vn_delegate):
    client.force_login(vn_delegate)
    page = client.get(reverse("accounts:profile")).content.decode()
    assert "Language of your e-mails" in page and "Once a day, in a digest" in page

    response = client.post(
        reverse("accounts:profile"),
        {"full_name": vn_delegate.full_name, "time_zone": "", "language": "vi", "email_frequency": "daily"},
    )

    assert response.status_code == 302
    vn_delegate.refresh_from_db()
    assert (vn_delegate.language, vn_delegate.email_frequency, vn_delegate.email_language) == ("vi", "daily", "vi")
