"""`manage.py seed_demo` and `manage.py demo_accounts`: the demo that `make run` shows."""

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Organisation, User
from audit.models import AuditEntry
from consultations import services
from consultations.models import (
    Consultation,
    DraftVersion,
    EngagementRound,
    Participation,
    Phase,
    Role,
    RoundNotice,
    Section,
)
from consultations.selectors import round_phases
from demo.first_round import EXTRA_DELEGATES
from demo.seed import DEMO_ACCOUNTS, DEMO_PASSWORD, ROUND_TIME_ZONE, demo_seed_allowed, seed_demo
from notifications.mail import send_immediate

pytestmark = pytest.mark.django_db

DEMO_EMAILS = [account.email for account in DEMO_ACCOUNTS]
COUNTED = [
    Organisation,
    User,
    EmailAddress,
    Consultation,
    Phase,
    Participation,
    DraftVersion,
    Section,
    EngagementRound,
    RoundNotice,
    AuditEntry,
]


def counts() -> dict[str, int]:
    return {model._meta.label: model.objects.count() for model in COUNTED}


def demo_consultation() -> Consultation:
    return Consultation.objects.get(slug="adm-2030")


def sections_by_number(number: str) -> dict[str, Section]:
    version = demo_consultation().versions.get(number=number)
    return {s.number: s for s in version.sections.all()}


# --- idempotency --------------------------------------------------------------------------


def test_second_run_creates_nothing_and_writes_no_audit_entries():
    call_command("seed_demo", stdout=StringIO())
    first = counts()
    out = StringIO()
    call_command("seed_demo", stdout=out)

    assert counts() == first
    assert "nothing to create" in out.getvalue()
    assert first["accounts.Organisation"] == 15
    assert first["accounts.User"] == len(DEMO_ACCOUNTS) + len(EXTRA_DELEGATES)
    assert first["consultations.DraftVersion"] == 2
    assert first["consultations.EngagementRound"] == 2
    assert first["consultations.Phase"] == 5


def test_second_run_reports_nothing_created():
    seed_demo()
    result = seed_demo()

    assert result["consultation"] == "adm-2030"
    assert set(result["created"].values()) == {0}


def test_rerun_days_later_does_not_move_the_rounds():
    start = timezone.now()
    seed_demo(now=start)
    before = list(EngagementRound.objects.values_list("pk", "opens_at", "closes_at", "state").order_by("pk"))

    seed_demo(now=start + timedelta(days=5))

    assert list(EngagementRound.objects.values_list("pk", "opens_at", "closes_at", "state").order_by("pk")) == before


def test_seed_is_safe_on_a_database_that_already_has_some_of_the_people(personas):
    """The test personas use the demo addresses and organisation names, with another password."""
    seed_demo()

    assert Organisation.objects.filter(name="Viet Nam").count() == 1
    assert User.objects.filter(email="vn.delegate@example.org").count() == 1
    assert Consultation.objects.filter(slug="adm-2030").count() == 1
    vn_delegate = User.objects.get(email="vn.delegate@example.org")
    assert vn_delegate.check_password(DEMO_PASSWORD)


# --- organisations, timeline, people ------------------------------------------------------


def test_eleven_member_states_including_timor_leste():
    seed_demo()

    states = Organisation.objects.filter(kind=Role.MEMBER_STATE)
    assert sorted(states.values_list("country_code", flat=True)) == sorted(
        ["BN", "KH", "ID", "LA", "MY", "MM", "PH", "SG", "TH", "TL", "VN"]
    )
    assert states.get(country_code="TL").name == "Timor-Leste"
    assert Organisation.objects.filter(kind=Role.SECRETARIAT).count() == 1
    assert Organisation.objects.filter(kind=Role.PARTNER).count() == 2
    assert Organisation.objects.filter(kind=Role.CONSULTANT).count() == 1


def test_phases_follow_the_drafting_timeline_and_hold_the_rounds():
    """The timeline is dated around the rounds (not fixed years): each round lies in its phase."""
    seed_demo(now=datetime(2026, 11, 29, 9, 0, tzinfo=UTC))

    consultation = demo_consultation()
    phases = [(p.name, p.starts_on.isoformat(), p.ends_on.isoformat()) for p in consultation.phases.all()]
    assert phases == [
        ("Initiation and mid-term review", "2026-06-02", "2026-07-31"),
        ("Research and drafting", "2026-08-01", "2026-09-29"),
        ("First stakeholder engagement", "2026-09-30", "2026-10-30"),
        ("Second stakeholder engagement", "2026-10-31", "2026-12-17"),
        ("Finalisation of the draft ADM 2030", "2026-12-18", "2027-02-17"),
    ]
    by_name = {p.name: p for p in consultation.phases.all()}
    for engagement_round in consultation.rounds.all():
        phase = by_name[engagement_round.title]
        for moment in (engagement_round.opens_at, engagement_round.closes_at):
            assert phase.starts_on <= timezone.localdate(moment, ROUND_TIME_ZONE) <= phase.ends_on


@pytest.mark.parametrize("email", DEMO_EMAILS)
def test_every_demo_account_can_log_in(client, email):
    seed_demo()

    assert client.login(email=email, password=DEMO_PASSWORD) is True
    assert EmailAddress.objects.filter(email=email, verified=True, primary=True).exists()


def test_demo_accounts_have_their_roles_and_time_zones():
    seed_demo()
    consultation = demo_consultation()

    def participation(email):
        return Participation.objects.select_related("organisation").get(consultation=consultation, user__email=email)

    admin = User.objects.get(email="admin@example.org")
    assert admin.is_staff and admin.is_superuser
    assert participation("secretariat@example.org").role == Role.SECRETARIAT
    assert participation("consultant@example.org").organisation.kind == Role.CONSULTANT
    focal = participation("vn.focal@example.org")
    assert (focal.organisation.country_code, focal.role, focal.is_focal_point) == ("VN", Role.MEMBER_STATE, True)
    assert participation("vn.delegate@example.org").is_focal_point is False
    assert participation("th.delegate@example.org").organisation.country_code == "TH"
    assert participation("partner@example.org").role == Role.PARTNER
    time_zones = dict(User.objects.values_list("email", "time_zone"))
    assert time_zones["vn.focal@example.org"] == "Asia/Ho_Chi_Minh"
    assert time_zones["vn.delegate@example.org"] == "Asia/Ho_Chi_Minh"
    assert time_zones["th.delegate@example.org"] == "Asia/Bangkok"
    assert time_zones["secretariat@example.org"] == ""
    assert all(User.objects.values_list("full_name", flat=True))


# --- versions and sections ----------------------------------------------------------------


def test_both_versions_are_published_with_the_four_components_and_eight_directions():
    seed_demo()

    for number in ("0.1", "0.2"):
        version = demo_consultation().versions.get(number=number)
        assert version.is_published
        components = version.sections.filter(depth=0)
        assert list(components.values_list("heading", flat=True)) == [
            "Strategic Outcomes",
            "Enabling Areas",
            "Metrics of Success",
            "Timeline",
        ]
        outcomes = components.get(number="1")
        directions = outcomes.children.all()
        assert directions.count() == 8
        for direction in directions:
            clauses = direction.children.all()
            assert clauses, direction.heading
            assert all(clause.body and clause.number.startswith(direction.number + ".") for clause in clauses)
        assert components.get(number="2").children.count() == 5


def test_version_0_2_keeps_the_keys_of_unchanged_sections_and_gives_the_added_clause_a_new_key():
    seed_demo()
    v01, v02 = sections_by_number("0.1"), sections_by_number("0.2")

    for number, section in v02.items():
        if number in v01:
            assert section.key == v01[number].key, number
    assert v02["1.1.2"].body == v01["1.1.2"].body  # unchanged
    assert v02["1.1.1"].body != v01["1.1.1"].body  # reworded, same key
    assert "1.8.3" not in v01
    assert v02["1.8.3"].key not in {s.key for s in v01.values()}
    assert "1.1.4" in v01 and "1.1.4" not in v02
    v02_version = demo_consultation().versions.get(number="0.2")
    assert v02_version.previous == demo_consultation().versions.get(number="0.1")
    assert "1.8.3" in v02_version.change_summary


# --- rounds -------------------------------------------------------------------------------


def test_first_round_is_closed_and_second_is_open_now():
    now = timezone.now()
    seed_demo(now=now)
    vn = Organisation.objects.get(country_code="VN")

    first = EngagementRound.objects.get(title="First stakeholder engagement")
    assert first.version.number == "0.1"
    assert first.state == EngagementRound.State.CLOSED
    assert round_phases(rounds=[first], now=now)[first.pk][0] == "reported"  # closed, then consolidated
    assert first.opens_at < first.closes_at < now
    assert first.closed_at == first.closes_at
    assert first.visibility == EngagementRound.Visibility.AFTER_CLOSE
    assert not first.is_open_for(vn.pk)

    second = EngagementRound.objects.get(title="Second stakeholder engagement")
    assert second.version.number == "0.2"
    assert second.state == EngagementRound.State.OPEN
    assert second.opens_at <= now < second.closes_at
    assert second.closes_at - now > timedelta(days=17)
    assert second.opened_at == second.opens_at
    assert second.visibility == EngagementRound.Visibility.SECRETARIAT_ONLY
    assert sorted(second.commenting_roles) == [Role.MEMBER_STATE, Role.PARTNER]
    assert second.is_open_for(vn.pk)
    assert list(EngagementRound.objects.open_at(now)) == [second]


def test_beat_finds_nothing_to_open_or_close_after_seeding():
    now = timezone.now()
    seed_demo(now=now)

    assert services.rounds_advance(now=now) == {"opened": [], "closed": []}


def test_seeding_emails_nobody(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", stdout=StringIO())

    # Publishing the versions queues the carry-over of comments, which sends nothing.
    assert mail.outbox == []
    assert not RoundNotice.objects.exists()
    assert send_immediate() == 0  # the demo's notifications wait in the inboxes, unmailed
    assert not AuditEntry.objects.filter(action__in=["round.opened", "round.closed"]).exists()


# --- production guard ---------------------------------------------------------------------


def test_refuses_to_run_when_demo_seed_is_not_allowed(settings):
    settings.DEMO_SEED_ALLOWED = False

    with pytest.raises(CommandError, match="does not run in production"):
        call_command("seed_demo", stdout=StringIO())

    assert set(counts().values()) == {0}


def test_production_settings_module_is_refused_even_without_the_setting(settings):
    del settings.DEMO_SEED_ALLOWED
    settings.SETTINGS_MODULE = "config.settings.production"

    assert demo_seed_allowed() is False


def test_demo_accounts_command_refuses_in_production(settings):
    settings.DEMO_SEED_ALLOWED = False

    with pytest.raises(CommandError, match="does not run in production"):
        call_command("demo_accounts", stdout=StringIO())


# --- demo_accounts ------------------------------------------------------------------------


def test_demo_accounts_prints_accounts_password_and_address():
    seed_demo()
    out = StringIO()

    call_command("demo_accounts", stdout=out)

    text = out.getvalue()
    for email in DEMO_EMAILS:
        assert email in text
    assert DEMO_PASSWORD in text
    assert "http://127.0.0.1:8000/" in text
    assert "member state, focal point" in text
    assert "Meridian Strategy Partners" in text
    assert "not created yet" not in text


def test_demo_accounts_says_when_the_seed_has_not_run():
    out = StringIO()

    call_command("demo_accounts", stdout=out)

    assert "run `manage.py seed_demo` first" in out.getvalue()
