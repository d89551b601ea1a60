"""Engagement rounds: scheduling, opening and closing to the second, extensions, bad input.

Time is frozen with time_machine at the exact seconds that matter; rounds_advance is what beat
runs, so calling it at a frozen instant is what a participant would experience at that instant.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEntry
from consultations import services
from consultations.models import DraftVersion, EngagementRound, Role, RoundExtension
from notifications.models import Notification
from tests import factories

SECOND = timedelta(seconds=1)
SCHEDULED_ON = datetime(2025, 8, 20, 9, 0, tzinfo=UTC)
OPENS_AT = datetime(2025, 9, 1, 1, 0, tzinfo=UTC)
CLOSES_AT = datetime(2025, 9, 15, 10, 0, tzinfo=UTC)
TH_EXTENDED_TO = CLOSES_AT + timedelta(days=4)
COMMENTING = [Role.MEMBER_STATE, Role.PARTNER]


def _schedule(actor, version, **overrides):
    kwargs = {
        "actor": actor,
        "version": version,
        "title": "First stakeholder engagement",
        "opens_at": OPENS_AT,
        "closes_at": CLOSES_AT,
        "commenting_roles": COMMENTING,
        "visibility": EngagementRound.Visibility.AFTER_CLOSE,
    }
    kwargs.update(overrides)
    return services.round_schedule(**kwargs)


@pytest.fixture
def scheduled_round(version, secretariat):
    with time_machine.travel(SCHEDULED_ON, tick=False):
        return _schedule(secretariat, version)


@pytest.fixture
def advance(django_capture_on_commit_callbacks):
    """Run beat's round pass at a frozen instant, with the e-mails it queues on commit."""

    def run(at: datetime) -> dict:
        with time_machine.travel(at, tick=False), django_capture_on_commit_callbacks(execute=True):
            return services.rounds_advance()

    return run


def _reload(engagement_round: EngagementRound) -> EngagementRound:
    return EngagementRound.objects.get(pk=engagement_round.pk)


def _audit_count(action: str, engagement_round: EngagementRound) -> int:
    return AuditEntry.objects.filter(action=action, target_id=str(engagement_round.pk)).count()


def _messages(excinfo) -> str:
    return " ".join(excinfo.value.messages)


def _snapshot():
    """Everything a refused round operation must leave as it was."""
    return {
        "rounds": list(EngagementRound.objects.order_by("pk").values()),
        "extensions": list(RoundExtension.objects.order_by("pk").values()),
        "notices": Notification.objects.count(),
        "audit": AuditEntry.objects.count(),
    }


# --- opening and closing to the second -----------------------------------------------------


def test_scheduled_round_is_still_scheduled_one_second_before_it_opens(scheduled_round, advance):
    result = advance(OPENS_AT - SECOND)

    assert result["opened"] == []
    assert _reload(scheduled_round).state == EngagementRound.State.SCHEDULED
    assert not _reload(scheduled_round).is_open_for(None, at=OPENS_AT - SECOND)


def test_scheduled_round_opens_at_exactly_opens_at(scheduled_round, advance):
    result = advance(OPENS_AT)

    engagement_round = _reload(scheduled_round)
    assert result["opened"] == [scheduled_round.pk]
    assert engagement_round.state == EngagementRound.State.OPEN
    assert engagement_round.opened_at == OPENS_AT
    assert engagement_round.is_open_for(None, at=OPENS_AT)


def test_advance_rounds_task_opens_at_the_second(scheduled_round, django_capture_on_commit_callbacks):
    from consultations.tasks import advance_rounds

    with time_machine.travel(OPENS_AT - SECOND, tick=False), django_capture_on_commit_callbacks(execute=True):
        advance_rounds.delay().get()
    assert _reload(scheduled_round).state == EngagementRound.State.SCHEDULED

    with time_machine.travel(OPENS_AT, tick=False), django_capture_on_commit_callbacks(execute=True):
        result = advance_rounds.delay().get()
    assert result["opened"] == [scheduled_round.pk]
    assert _reload(scheduled_round).state == EngagementRound.State.OPEN


def test_open_round_is_open_one_second_before_it_closes(scheduled_round, advance, vn_delegate, orgs):
    advance(OPENS_AT)

    result = advance(CLOSES_AT - SECOND)

    engagement_round = _reload(scheduled_round)
    assert result["closed"] == []
    assert engagement_round.state == EngagementRound.State.OPEN
    assert engagement_round.is_open_for(orgs["vn"].pk, at=CLOSES_AT - SECOND)


def test_open_round_closes_at_exactly_closes_at(scheduled_round, advance, orgs):
    advance(OPENS_AT)

    # The window is half-open: at the closing second writes are refused even before beat runs.
    assert not _reload(scheduled_round).is_open_for(orgs["vn"].pk, at=CLOSES_AT)
    result = advance(CLOSES_AT)

    engagement_round = _reload(scheduled_round)
    assert result["closed"] == [scheduled_round.pk]
    assert engagement_round.has_closed  # closing queues a consolidation, which may have run since
    assert engagement_round.closed_at == CLOSES_AT
    assert not engagement_round.is_open_for(orgs["vn"].pk, at=CLOSES_AT)


def test_extension_keeps_the_round_open_for_that_organisation_only(
    scheduled_round, advance, secretariat, vn_delegate, th_delegate, orgs
):
    advance(OPENS_AT)
    with time_machine.travel(OPENS_AT + timedelta(days=3), tick=False):
        services.round_extend(
            actor=secretariat, engagement_round=scheduled_round, organisation=orgs["th"], closes_at=TH_EXTENDED_TO
        )

    result = advance(CLOSES_AT)

    engagement_round = _reload(scheduled_round)
    assert result["closed"] == []
    assert engagement_round.state == EngagementRound.State.OPEN
    between = CLOSES_AT + timedelta(days=1)
    assert engagement_round.is_open_for(orgs["th"].pk, at=between)
    assert not engagement_round.is_open_for(orgs["vn"].pk, at=between)
    assert not engagement_round.is_open_for(orgs["vn"].pk, at=CLOSES_AT)
    assert engagement_round.is_open_for(orgs["th"].pk, at=TH_EXTENDED_TO - SECOND)

    assert advance(TH_EXTENDED_TO - SECOND)["closed"] == []
    assert advance(TH_EXTENDED_TO)["closed"] == [scheduled_round.pk]
    engagement_round = _reload(scheduled_round)
    assert engagement_round.has_closed  # closing queues a consolidation, which may have run since
    assert not engagement_round.is_open_for(orgs["th"].pk, at=TH_EXTENDED_TO)


def test_second_worker_finds_nothing_to_open_or_close_and_audit_is_written_once(scheduled_round, advance):
    first, second = advance(OPENS_AT), advance(OPENS_AT)
    assert first["opened"] == [scheduled_round.pk]
    assert second == {"opened": [], "closed": []}

    first, second = advance(CLOSES_AT), advance(CLOSES_AT)
    assert first["closed"] == [scheduled_round.pk]
    assert second == {"opened": [], "closed": []}

    assert _audit_count("round.opened", scheduled_round) == 1
    assert _audit_count("round.closed", scheduled_round) == 1


def test_round_that_passed_its_whole_window_while_beat_was_down_ends_closed(scheduled_round, advance):
    advance(CLOSES_AT + timedelta(hours=1))
    advance(CLOSES_AT + timedelta(hours=1))

    engagement_round = _reload(scheduled_round)
    assert engagement_round.has_closed  # closing queues a consolidation, which may have run since
    assert _audit_count("round.opened", scheduled_round) == 1
    assert _audit_count("round.closed", scheduled_round) == 1


# --- scheduling and managing rounds --------------------------------------------------------


def test_secretariat_schedules_a_round_with_an_audit_entry(scheduled_round):
    assert scheduled_round.state == EngagementRound.State.SCHEDULED
    assert scheduled_round.final_closes_at == CLOSES_AT
    assert sorted(scheduled_round.commenting_roles) == sorted(COMMENTING)
    assert _audit_count("round.scheduled", scheduled_round) == 1


def test_round_close_now_closes_for_everyone_including_extensions(
    scheduled_round, advance, secretariat, th_delegate, orgs
):
    advance(OPENS_AT)
    with time_machine.travel(OPENS_AT + timedelta(days=1), tick=False):
        services.round_extend(
            actor=secretariat, engagement_round=scheduled_round, organisation=orgs["th"], closes_at=TH_EXTENDED_TO
        )
    closed_on = OPENS_AT + timedelta(days=2)
    with time_machine.travel(closed_on, tick=False):
        services.round_close_now(actor=secretariat, engagement_round=scheduled_round)

    engagement_round = _reload(scheduled_round)
    assert engagement_round.has_closed  # closing queues a consolidation, which may have run since
    assert not engagement_round.is_open_for(orgs["th"].pk, at=closed_on + SECOND)
    assert RoundExtension.objects.get(round=engagement_round).closes_at == closed_on
    assert _audit_count("round.closed", scheduled_round) == 1


def test_closing_early_keeps_the_planned_closing_time_on_record(scheduled_round, advance, secretariat):
    advance(OPENS_AT)
    planned = scheduled_round.closes_at
    closed_on = OPENS_AT + timedelta(days=2)
    with time_machine.travel(closed_on, tick=False):
        services.round_close_now(actor=secretariat, engagement_round=scheduled_round)

    engagement_round = _reload(scheduled_round)
    assert (engagement_round.closes_at, engagement_round.planned_closes_at) == (closed_on, planned)
    assert engagement_round.closed_early
    entry = AuditEntry.objects.get(action="round.closed", target_id=str(scheduled_round.pk))
    assert entry.data == {"planned_closes_at": planned.isoformat()}


def test_a_round_closed_by_the_clock_has_no_planned_time_apart(scheduled_round, advance):
    advance(OPENS_AT)
    advance(scheduled_round.closes_at)
    engagement_round = _reload(scheduled_round)
    assert engagement_round.has_closed and engagement_round.planned_closes_at is None


def test_roles_change_while_the_round_is_scheduled_only(scheduled_round, advance, secretariat):
    services.round_set_commenting_roles(
        actor=secretariat, engagement_round=scheduled_round, commenting_roles=[Role.PARTNER, Role.PARTNER]
    )
    assert _reload(scheduled_round).commenting_roles == [Role.PARTNER]
    assert _audit_count("round.roles_changed", scheduled_round) == 1
    advance(OPENS_AT)
    with pytest.raises(ValidationError, match="can no longer change"):
        services.round_set_commenting_roles(
            actor=secretariat, engagement_round=scheduled_round, commenting_roles=[Role.MEMBER_STATE]
        )
    assert _reload(scheduled_round).commenting_roles == [Role.PARTNER]


def test_round_open_now_opens_early_and_notifies_participants(
    scheduled_round, secretariat, personas, django_capture_on_commit_callbacks
):
    now = OPENS_AT - timedelta(days=2)
    with time_machine.travel(now, tick=False), django_capture_on_commit_callbacks(execute=True):
        services.round_open_now(actor=secretariat, engagement_round=scheduled_round)

    engagement_round = _reload(scheduled_round)
    assert engagement_round.state == EngagementRound.State.OPEN
    assert engagement_round.opens_at == now
    # Six participants hear of it in their inbox (e-mailed by the notifications' beat task).
    assert Notification.objects.filter(round=engagement_round, kind=Notification.Kind.ROUND_OPENED).count() == 6


# --- bad input changes nothing -------------------------------------------------------------


@pytest.mark.parametrize(
    ("closes_at", "fragment"),
    [
        (OPENS_AT, "must close after it opens"),
        (OPENS_AT - SECOND, "must close after it opens"),
        (OPENS_AT.replace(tzinfo=None) + timedelta(days=3), "time zone"),
    ],
    ids=["closes-when-it-opens", "closes-before-it-opens", "naive-datetime"],
)
def test_round_schedule_refuses_a_bad_window(version, secretariat, closes_at, fragment):
    before = _snapshot()
    with time_machine.travel(SCHEDULED_ON, tick=False), pytest.raises(ValidationError) as excinfo:
        _schedule(secretariat, version, closes_at=closes_at)

    assert fragment in _messages(excinfo)
    assert _snapshot() == before


@pytest.mark.parametrize("state", [EngagementRound.State.SCHEDULED, EngagementRound.State.OPEN])
def test_round_schedule_refuses_a_second_active_round_on_the_same_version(version, secretariat, state):
    factories.EngagementRoundFactory(version=version, state=state)
    before = _snapshot()

    with time_machine.travel(SCHEDULED_ON, tick=False), pytest.raises(ValidationError) as excinfo:
        _schedule(secretariat, version)

    assert "already has a scheduled or open round" in _messages(excinfo)
    assert _snapshot() == before


def test_round_schedule_allows_a_new_round_once_the_previous_one_closed(version, secretariat):
    factories.EngagementRoundFactory(version=version, state=EngagementRound.State.CLOSED)

    with time_machine.travel(SCHEDULED_ON, tick=False):
        engagement_round = _schedule(secretariat, version)

    assert engagement_round.state == EngagementRound.State.SCHEDULED


def test_round_schedule_refuses_an_unpublished_version(consultation, secretariat):
    draft = factories.DraftVersionFactory(
        consultation=consultation, number="0.9", status=DraftVersion.Status.DRAFT, published_at=None
    )
    before = _snapshot()

    with time_machine.travel(SCHEDULED_ON, tick=False), pytest.raises(ValidationError) as excinfo:
        _schedule(secretariat, draft)

    assert "Only a published version" in _messages(excinfo)
    assert _snapshot() == before


@pytest.mark.parametrize(
    ("roles", "fragment"),
    [([], "at least one role"), (["observer"], "Unknown role")],
    ids=["no-roles", "unknown-role"],
)
def test_round_schedule_refuses_bad_commenting_roles(version, secretariat, roles, fragment):
    before = _snapshot()

    with time_machine.travel(SCHEDULED_ON, tick=False), pytest.raises(ValidationError) as excinfo:
        _schedule(secretariat, version, commenting_roles=roles)

    assert fragment in _messages(excinfo)
    assert _snapshot() == before


@pytest.mark.parametrize("extension_end", [CLOSES_AT - SECOND, CLOSES_AT], ids=["before-closes-at", "at-closes-at"])
def test_round_extend_refuses_a_deadline_not_after_closes_at(
    scheduled_round, secretariat, th_delegate, orgs, extension_end
):
    before = _snapshot()

    with time_machine.travel(OPENS_AT + timedelta(days=1), tick=False), pytest.raises(ValidationError) as excinfo:
        services.round_extend(
            actor=secretariat, engagement_round=scheduled_round, organisation=orgs["th"], closes_at=extension_end
        )

    assert "must end after the round closes" in _messages(excinfo)
    assert _snapshot() == before


def test_round_extend_refuses_an_organisation_that_does_not_take_part(scheduled_round, secretariat, orgs):
    # Thailand takes part only through th_delegate, who is not requested here.
    brunei = factories.OrganisationFactory(name="Brunei Darussalam", country_code="BN")
    before = _snapshot()

    for organisation in (brunei, orgs["th"]):
        with time_machine.travel(OPENS_AT, tick=False), pytest.raises(ValidationError) as excinfo:
            services.round_extend(
                actor=secretariat, engagement_round=scheduled_round, organisation=organisation, closes_at=TH_EXTENDED_TO
            )
        assert "does not take part" in _messages(excinfo)
    assert _snapshot() == before


def test_round_extend_refuses_a_closed_round(scheduled_round, advance, secretariat, th_delegate, orgs):
    advance(OPENS_AT)
    advance(CLOSES_AT)
    before = _snapshot()

    with time_machine.travel(CLOSES_AT + SECOND, tick=False), pytest.raises(ValidationError) as excinfo:
        services.round_extend(
            actor=secretariat, engagement_round=scheduled_round, organisation=orgs["th"], closes_at=TH_EXTENDED_TO
        )

    assert "has closed" in _messages(excinfo)
    assert _snapshot() == before


def test_round_extend_refuses_a_round_whose_deadline_passed_before_beat_closed_it(
    scheduled_round, advance, secretariat, th_delegate, orgs
):
    """At closes_at the round is closed for everyone, whether or not beat has stored that yet.

    Granting an extension a minute later must not depend on whether beat ran in between: the
    round refuses it either way, exactly as in test_round_extend_refuses_a_closed_round.
    """
    advance(OPENS_AT)
    before = _snapshot()

    with time_machine.travel(CLOSES_AT + timedelta(minutes=1), tick=False), pytest.raises(ValidationError) as excinfo:
        services.round_extend(
            actor=secretariat, engagement_round=scheduled_round, organisation=orgs["th"], closes_at=TH_EXTENDED_TO
        )

    assert "has closed" in _messages(excinfo)
    assert _snapshot() == before


def test_round_open_now_refuses_an_open_round(scheduled_round, advance, secretariat):
    advance(OPENS_AT)
    before = _snapshot()

    with time_machine.travel(OPENS_AT + timedelta(hours=1), tick=False), pytest.raises(ValidationError) as excinfo:
        services.round_open_now(actor=secretariat, engagement_round=scheduled_round)

    assert "Only a scheduled round can be opened" in _messages(excinfo)
    assert _snapshot() == before


def test_round_close_now_refuses_a_scheduled_round(scheduled_round, secretariat):
    before = _snapshot()

    with time_machine.travel(SCHEDULED_ON + timedelta(hours=1), tick=False), pytest.raises(ValidationError) as excinfo:
        services.round_close_now(actor=secretariat, engagement_round=scheduled_round)

    assert "Only an open round can be closed" in _messages(excinfo)
    assert _snapshot() == before


# --- who may administer rounds -------------------------------------------------------------

# persona -> may schedule and close rounds in adm-2030
ROUND_ADMIN = {
    "secretariat": True,
    "admin": True,
    "consultant": False,
    "vn_delegate": False,
    "vn_focal_point": False,
    "th_delegate": False,
    "partner": False,
    "outsider": False,
}


@pytest.mark.parametrize(("persona", "allowed"), ROUND_ADMIN.items())
def test_who_may_schedule_a_round(personas, version, persona, allowed):
    actor = personas[persona]
    before = _snapshot()

    with time_machine.travel(SCHEDULED_ON, tick=False):
        if allowed:
            assert _schedule(actor, version).state == EngagementRound.State.SCHEDULED
        else:
            with pytest.raises(PermissionDenied):
                _schedule(actor, version)
            assert _snapshot() == before


@pytest.mark.parametrize(("persona", "allowed"), ROUND_ADMIN.items())
def test_who_may_close_a_round_now(personas, version, persona, allowed):
    with time_machine.travel(OPENS_AT, tick=False):
        engagement_round = factories.EngagementRoundFactory(version=version, state=EngagementRound.State.OPEN)
    before = _snapshot()

    with time_machine.travel(OPENS_AT + timedelta(days=2), tick=False):
        if allowed:
            services.round_close_now(actor=personas[persona], engagement_round=engagement_round)
            assert _reload(engagement_round).has_closed
        else:
            with pytest.raises(PermissionDenied):
                services.round_close_now(actor=personas[persona], engagement_round=engagement_round)
            assert _snapshot() == before
