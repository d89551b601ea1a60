"""A superuser passes Django's model permissions, but not the platform's rules.

Found by tests/test_url_walk.py: Django's PermissionsMixin.has_perm grants an active superuser
every permission, so a site admin created with `createsuperuser` (as the demo's admin is)
could open the edit page of any delegation's comment and withdraw it, in any consultation.
"""

import pytest
from django.test import Client

from comments import services
from comments.models import Comment


@pytest.fixture
def vn_comment(vn_delegate, open_round):
    clause = open_round.version.sections.get(key="infra-5g")
    return services.comment_create(
        actor=vn_delegate,
        engagement_round=open_round,
        section=clause,
        comment_type=Comment.Type.TECHNICAL,
        body="Viet Nam's position.",
        submit=True,
    )


def test_superuser_cannot_withdraw_a_delegations_comment(superuser, vn_comment, consultation):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    response = client.post(f"/consultations/{consultation.slug}/comments/{vn_comment.pk}/withdraw/")
    assert response.status_code in (403, 404)
    vn_comment.refresh_from_db()
    assert vn_comment.status == Comment.Status.SUBMITTED


def test_superuser_cannot_open_a_delegations_comment_for_editing(superuser, vn_comment, consultation):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    response = client.get(f"/consultations/{consultation.slug}/comments/{vn_comment.pk}/edit/")
    assert response.status_code in (403, 404)


def test_superuser_cannot_edit_through_the_api(superuser, vn_comment):
    client = Client(raise_request_exception=False)
    client.force_login(superuser)
    response = client.patch(
        f"/api/v1/comments/{vn_comment.pk}/",
        {"body": "Rewritten by the admin."},
        content_type="application/json",
        HTTP_IF_MATCH=f'"{vn_comment.pk}-{vn_comment.revision}"',
    )
    assert response.status_code == 403
    vn_comment.refresh_from_db()
    assert vn_comment.body == "Viet Nam's position."


def test_superuser_keeps_the_rules_a_site_admin_has(superuser, consultation, open_round):
    assert superuser.has_perm("consultations.manage_rounds", consultation)
    assert superuser.has_perm("comments.view_positions_overview", open_round)
    assert not superuser.has_perm("comments.submit_national_position", open_round)
    # Django's own model permissions (the admin) are untouched.
    assert superuser.has_perm("consultations.change_consultation")
