"""Dates read the same way everywhere: day month year and a 24-hour clock, never "a.m.." in a sentence."""

from datetime import datetime
from zoneinfo import ZoneInfo

from django.template import Context, Template
from django.utils import timezone, translation

WHEN = datetime(2026, 12, 18, 10, 0, tzinfo=ZoneInfo("UTC"))


def render(source: str) -> str:
    with timezone.override("UTC"):
        return Template("{% load i18n %}" + source).render(Context({"when": WHEN}))


def test_english_dates_are_day_month_year_with_a_24_hour_clock():
    with translation.override("en"):
        assert render('{{ when|date:"DATETIME_FORMAT" }}') == "18 December 2026, 10:00"
        assert render('{{ when|date:"DATE_FORMAT" }}') == "18 December 2026"
        assert render('{{ when|date:"SHORT_DATETIME_FORMAT" }}') == "18 Dec 2026, 10:00"


def test_a_sentence_that_ends_with_a_date_ends_with_one_full_stop():
    with translation.override("en"):
        sentence = render(
            '{% blocktranslate with when=when|date:"DATETIME_FORMAT" %}This round is not open yet. '
            "It opens on {{ when }}.{% endblocktranslate %}"
        )
    assert sentence.endswith("10:00.") and ".." not in sentence


def test_vietnamese_keeps_its_own_formats():
    with translation.override("vi"):
        assert "2026" in render('{{ when|date:"DATETIME_FORMAT" }}')
        assert "December" not in render('{{ when|date:"DATETIME_FORMAT" }}')
