"""The OpenAPI contract generates cleanly and the docs page is served without a CDN."""

from django.core.management import call_command


def test_schema_validates_without_warnings(db, tmp_path):
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    assert "/api/v1/comments/{id}/endorsement/:" in text
    assert "application/problem+json" in text


def test_swagger_ui_is_served_from_the_sidecar(client, db):
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert b"/api/docs/assets/swagger-ui-dist/swagger-ui-bundle.js" in page.content
    assert client.get("/api/docs/assets/swagger-ui-dist/swagger-ui-bundle.js").status_code == 200
