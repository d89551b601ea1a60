"""POST /api/v1/comments/{id}/return/: the focal point sends a colleague's comment back, as on the page."""

from comments.models import Comment, CommentReturn
from tests.helpers.api import assert_problem, etag


def _url(comment) -> str:
    return f"/api/v1/comments/{comment.pk}/return/"


def test_without_if_match_it_is_428(world, client_for):
    response = client_for(world.personas["vn_focal_point"]).post(_url(world.vn_sub), {"note": "x"}, format="json")

    assert_problem(response, 428)


def test_the_focal_point_sends_a_comment_back_with_if_match(world, client_for):
    response = client_for(world.personas["vn_focal_point"]).post(
        _url(world.vn_sub), {"note": "Cite the study."}, format="json", HTTP_IF_MATCH=etag(world.vn_sub)
    )

    assert response.status_code == 200, response.content
    assert (response.json()["status"], response.json()["is_endorsed"]) == ("draft", False)
    assert CommentReturn.objects.get().note == "Cite the study."


def test_a_stale_etag_is_412_and_changes_nothing(world, client_for):
    response = client_for(world.personas["vn_focal_point"]).post(
        _url(world.vn_sub), {"note": "Cite the study."}, format="json", HTTP_IF_MATCH=f'"{world.vn_sub.pk}-1"'
    )

    assert_problem(response, 412)
    assert Comment.objects.get(pk=world.vn_sub.pk).status == "submitted"


def test_a_colleague_is_403_and_another_delegation_404(world, client_for, th_focal_point):
    def send(user, comment):
        return client_for(user).post(_url(comment), {"note": "x"}, format="json", HTTP_IF_MATCH=etag(comment))

    colleague = send(world.personas["vn_delegate"], world.vn_sub)
    foreign = send(th_focal_point, world.vn_sub)
    other = send(th_focal_point, world.th_sub)

    assert_problem(colleague, 403)
    assert_problem(foreign, 404)
    # Thailand's focal point and Thailand's comment: allowed (its author is another Thai delegate).
    assert other.status_code == 200
    assert not CommentReturn.objects.filter(comment=world.vn_sub).exists()


def test_an_empty_note_is_400(world, client_for):
    response = client_for(world.personas["vn_focal_point"]).post(
        _url(world.vn_sub), {"note": ""}, format="json", HTTP_IF_MATCH=etag(world.vn_sub)
    )

    assert_problem(response, 400)
