"""A change summary typed with "- " lines reads as a list, and nothing typed becomes markup."""

from consultations.templatetags.summary_tags import summary


def test_dash_lines_become_a_list():
    html = summary("Changes after the first round:\n\n- 1.1.3 now covers submarine cables.\n- 1.2 reworded.")
    assert "<ul>" in html and html.count("<li>") == 2
    assert "- 1.1.3" not in html
    assert "<li>1.1.3 now covers submarine cables.</li>" in html


def test_typed_markup_is_escaped_not_rendered():
    html = summary('<script>alert(1)</script> and <a href="x" onclick="y">a link</a>')
    assert "<script" not in html and "<a " not in html
    assert "&lt;script&gt;" in html


def test_nothing_typed_renders_nothing():
    assert summary("") == "" and summary(None) == ""
