"""The round's comments as a W3C Web Annotation collection."""

from django.urls import reverse

from comments.models import Comment

ANNO = "http://www.w3.org/ns/anno.jsonld"


def test_annotation_collection_is_valid_web_annotation(world, client_for):
    response = client_for(world.personas["secretariat"]).get(f"/api/v1/rounds/{world.open_round.pk}/annotations/")
    assert response.status_code == 200
    assert response["Content-Type"] == f'application/ld+json; profile="{ANNO}"'
    collection = response.json()
    assert collection["@context"] == ANNO
    assert collection["type"] == "AnnotationCollection"
    assert collection["id"].startswith("http://testserver/api/v1/rounds/")
    assert collection["total"] == 2
    page = collection["first"]
    assert page["type"] == "AnnotationPage"
    assert page["partOf"] == collection["id"]
    by_id = {a["id"]: a for a in page["items"]}
    for annotation in page["items"]:
        assert {"id", "type", "motivation", "body", "target", "creator", "created", "modified"} <= set(annotation)
        assert annotation["type"] == "Annotation"
        for body in annotation["body"]:
            assert body["type"] == "TextualBody"
            assert body["format"] == "text/plain"
            assert body["value"]

    anchored = by_id[f"http://testserver/api/v1/comments/{world.vn_sub.pk}/"]
    stored: Comment = world.vn_sub
    assert anchored["motivation"] == "editing"
    assert [b["purpose"] for b in anchored["body"]] == ["commenting", "editing"]
    assert anchored["body"][0]["language"] == "en"
    section_page = reverse("comments:section", args=["adm-2030", "0.1", "infra-5g"])
    assert anchored["target"]["source"] == "http://testserver" + section_page
    quote, position = anchored["target"]["selector"]
    assert quote == {
        "type": "TextQuoteSelector",
        "exact": stored.quote_exact,
        "prefix": stored.quote_prefix,
        "suffix": stored.quote_suffix,
    }
    assert position == {"type": "TextPositionSelector", "start": stored.position_start, "end": stored.position_end}
    body_text = world.version.sections.get(key="infra-5g").body
    assert body_text[position["start"] : position["end"]] == quote["exact"]

    whole_section = by_id[f"http://testserver/api/v1/comments/{world.th_sub.pk}/"]
    assert whole_section["motivation"] == "commenting"
    assert "selector" not in whole_section["target"]


def test_annotation_pages_follow_the_cursor(world, client_for):
    client = client_for(world.personas["secretariat"])
    first = client.get(f"/api/v1/rounds/{world.open_round.pk}/annotations/", {"page_size": 1}).json()["first"]
    second = client.get(first["next"]).json()
    assert second["type"] == "AnnotationPage"
    assert second["@context"] == ANNO
    assert second["partOf"].endswith(f"/api/v1/rounds/{world.open_round.pk}/annotations/")
    assert [a["id"] for a in first["items"] + second["items"]] == [
        f"http://testserver/api/v1/comments/{world.vn_sub.pk}/",
        f"http://testserver/api/v1/comments/{world.th_sub.pk}/",
    ]


def test_delegate_sees_only_visible_annotations(world, client_for):
    collection = (
        client_for(world.personas["th_delegate"]).get(f"/api/v1/rounds/{world.open_round.pk}/annotations/").json()
    )
    assert [a["id"] for a in collection["first"]["items"]] == [f"http://testserver/api/v1/comments/{world.th_sub.pk}/"]
