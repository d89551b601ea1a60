"""Every URL pattern of the project, as every persona, against objects in and out of their scope.

The patterns come from the resolver itself (recursively through every include: pages, API,
downloads, allauth, headless, admin), so a new view cannot escape: a pattern that has no row
in ROUTES below fails `test_every_url_pattern_has_a_row`.

ROUTES is the expectation table: URL name -> how to fill its kwargs from the scenario, for
which targets (objects in the main consultation A, of another organisation, or in another
consultation B) -> which personas may reach it (2xx, or a redirect that is not to a login
page). Every other persona must be refused: 404 outside their scope (another consultation,
another organisation's draft), 403 or 404 for a role refusal inside their own consultation,
a login redirect or 401 for anonymous. Reads are GETs; for write endpoints, the refused
personas also send the write (POST, or the API operation's PUT/PATCH/DELETE) with an empty
body, which must be refused the same way and change nothing (writes by allowed personas
are tested where each feature is).

Independently, unique marker strings are planted in what only some personas may read
(another delegation's draft, a secretariat-only comment, another consultation's title,
section text, comment and report, a draft version in preparation, a participant's e-mail);
no response to anyone outside a marker's audience may contain it, whatever its status.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import Role
from audit.models import AuditEntry
from comments import services as comment_services
from comments.models import Comment
from consolidation.models import ConsolidationRun, DuplicateGroup, ImportJob, JobStatus, Report
from consultations.models import DraftVersion, EngagementRound, Invitation
from tests import factories
from tests.helpers.people import participant

# --- personas ------------------------------------------------------------------------------

SEC, CONS, VN, VNFP, TH, PARTNER = (
    "secretariat",
    "consultant",
    "vn_delegate",
    "vn_focal_point",
    "th_delegate",
    "partner",
)
OUTSIDER, ADMIN, SUPER, ANON = "outsider", "site_admin", "superuser", "anonymous"
IN_A = frozenset({SEC, CONS, VN, VNFP, TH, PARTNER})  # take part in consultation A
STAFF = frozenset({ADMIN, SUPER})  # site admins: every consultation
PERSONAS = sorted(IN_A | STAFF | {OUTSIDER, ANON})
SIGNED_IN = frozenset(PERSONAS) - {ANON}
EVERYONE = frozenset(PERSONAS)
NOBODY = frozenset()
ORGANISERS = frozenset({SEC, CONS})

# Markers: text that only its audience may ever receive.
MARKERS = {
    "mk-vn-draft-q7ZK": frozenset({VN, VNFP}),  # Viet Nam's draft comment
    "mk-th-secret-P4tw": frozenset({TH, SEC, CONS}) | STAFF,  # submitted, secretariat_only round
    "mk-a-title-Hn3v": IN_A | STAFF,
    "mk-prep-version-W8": frozenset({SEC, CONS}) | STAFF,  # section of a draft in preparation
    "mk-b-title-Lm0e": frozenset({OUTSIDER}) | STAFF,
    "mk-b-section-R5y": frozenset({OUTSIDER}) | STAFF,
    "mk-b-comment-Zu1": frozenset({OUTSIDER}) | STAFF,
    "mk-b-report-Kd9": frozenset({OUTSIDER}) | STAFF,
    "mk-vn-report-Jc6": frozenset({VN, SEC}) | STAFF,
    "th-mail-mk-T6s@example.org": frozenset({TH, SEC}) | STAFF,  # a participant's e-mail
}


# --- the scenario, built once for the module -------------------------------------------------


@dataclass
class Scenario:
    users: dict
    a: object  # consultation A
    b: object  # consultation B
    objects: dict = field(default_factory=dict)


def _build() -> Scenario:
    make_org = factories.OrganisationFactory
    orgs = {
        "asec": make_org(name="Walk Secretariat", kind=Role.SECRETARIAT, country_code=""),
        "bcg": make_org(name="Walk Consultants", kind=Role.CONSULTANT, country_code=""),
        "vn": make_org(name="Walk Viet Nam", kind=Role.MEMBER_STATE, country_code="VN"),
        "th": make_org(name="Walk Thailand", kind=Role.MEMBER_STATE, country_code="TH"),
        "partner": make_org(name="Walk Partner", kind=Role.PARTNER, country_code=""),
    }
    a = factories.ConsultationFactory(title="Consultation mk-a-title-Hn3v", slug="walk-a")
    b = factories.ConsultationFactory(title="Consultation mk-b-title-Lm0e", slug="walk-b")

    def member(consultation, email, org, role, focal=False):
        return participant(consultation, orgs[org], email, role, focal=focal)

    users = {
        SEC: member(a, "walk.sec@example.org", "asec", Role.SECRETARIAT),
        CONS: member(a, "walk.cons@example.org", "bcg", Role.CONSULTANT),
        VN: member(a, "walk.vn@example.org", "vn", Role.MEMBER_STATE),
        VNFP: member(a, "walk.vnfp@example.org", "vn", Role.MEMBER_STATE, focal=True),
        TH: member(a, "th-mail-mk-T6s@example.org", "th", Role.MEMBER_STATE),
        PARTNER: member(a, "walk.partner@example.org", "partner", Role.PARTNER),
        # Thailand's focal point in consultation B only: same organisation as TH, not in A.
        OUTSIDER: member(b, "walk.outsider@example.org", "th", Role.MEMBER_STATE, focal=True),
        ADMIN: factories.UserFactory(email="walk.admin@example.org", is_staff=True),
        SUPER: factories.UserFactory(email="walk.super@example.org", is_staff=True, is_superuser=True),
    }
    b_secretariat = member(b, "walk.b.sec@example.org", "asec", Role.SECRETARIAT)
    objects: dict = {}

    def world(consultation, tag, section_body):
        factories.PhaseFactory(consultation=consultation, name=f"Engagement {tag}")
        version = factories.DraftVersionFactory(consultation=consultation, number="0.1")
        sections = factories.build_sections(
            version,
            [
                ("outcomes", "1", "Strategic outcomes", "", None),
                ("infra-5g", "1.1", "5G networks", section_body, "outcomes"),
            ],
        )
        prep = factories.DraftVersionFactory(
            consultation=consultation, number="0.2", status=DraftVersion.Status.DRAFT, published_at=None
        )
        factories.build_sections(
            prep, [("infra-5g", "1.1", "5G networks", f"Preparing mk-prep-version-W8 {tag}.", None)]
        )
        rnd = factories.EngagementRoundFactory(version=version, title=f"Round {tag}", state=EngagementRound.State.OPEN)
        return version, prep, sections["infra-5g"], rnd

    a_version, a_prep, a_clause, a_round = world(a, "A", "Member states will extend 5G coverage to all areas.")
    b_version, b_prep, b_clause, b_round = world(b, "B", "mk-b-section-R5y: states will extend 5G coverage.")

    def comment(user, rnd, clause, body, submit):
        return comment_services.comment_create(
            actor=user,
            engagement_round=rnd,
            section=clause,
            comment_type=Comment.Type.TECHNICAL,
            body=body,
            submit=submit,
        )

    vn_draft = comment(users[VN], a_round, a_clause, "Draft mk-vn-draft-q7ZK.", False)
    vn_sub = comment(users[VN], a_round, a_clause, "Viet Nam supports the target.", True)
    vn_sub = comment_services.comment_set_endorsed(actor=users[VNFP], comment=vn_sub, endorsed=True)
    th_secret = comment(users[TH], a_round, a_clause, "Thailand: mk-th-secret-P4tw.", True)
    comment_services.reply_create(actor=users[TH], comment=th_secret, body="Thai reply mk-th-secret-P4tw.")
    b_comment = comment(users[OUTSIDER], b_round, b_clause, "B comment mk-b-comment-Zu1.", True)
    b_comment = comment_services.comment_set_endorsed(actor=users[OUTSIDER], comment=b_comment, endorsed=True)
    comment_services.reply_create(actor=users[OUTSIDER], comment=b_comment, body="B reply mk-b-comment-Zu1.")

    def report(consultation, user, text):
        rep = Report.objects.create(
            consultation=consultation,
            kind=Report.Kind.RESOLUTION_MATRIX,
            format=Report.Format.CSV,
            requested_by=user,
            status=JobStatus.DONE,
            progress=100,
        )
        rep.file.save(f"walk-{rep.pk}.csv", ContentFile(f"No.,Organisation\r\n1,{text}\r\n".encode()), save=False)
        rep.size = rep.file.size
        rep.save()
        return rep

    def run_and_group(rnd, clause, comments):
        run = ConsolidationRun.objects.create(round=rnd, status=JobStatus.DONE)
        group = DuplicateGroup.objects.create(run=run, section=clause, kind="near", size=2, similarity=90.0)
        group.comments.set(comments)
        return run, group

    def import_job(rnd, org, user):
        return ImportJob.objects.create(
            round=rnd,
            organisation=org,
            requested_by=user,
            file_name="walk.xlsx",
            file="imports/walk.xlsx",
            status=JobStatus.FAILED,
            errors=[{"row": 3, "column": "Clause", "message": "There is no clause 9.9."}],
        )

    def invitation(consultation, user, email):
        return Invitation.objects.create(
            email=email,
            consultation=consultation,
            organisation=orgs["vn"],
            role=Role.MEMBER_STATE,
            invited_by=user,
            expires_at=timezone.now() + timedelta(days=7),
        )

    a_run, a_group = run_and_group(a_round, a_clause, [vn_sub, th_secret])
    b_run, b_group = run_and_group(b_round, b_clause, [b_comment])
    objects.update(
        a_version=a_version,
        a_prep=a_prep,
        a_round=a_round,
        b_version=b_version,
        b_prep=b_prep,
        b_round=b_round,
        vn_draft=vn_draft,
        vn_sub=vn_sub,
        th_secret=th_secret,
        b_comment=b_comment,
        a_vn_report=report(a, users[VN], "mk-vn-report-Jc6"),
        a_vn_notification=factories.NotificationFactory(
            reply=factories.ReplyFactory(comment=vn_sub, author=users[VNFP], organisation=orgs["vn"]),
            recipient=users[VN],
        ),
        b_report=report(b, users[OUTSIDER], "mk-b-report-Kd9"),
        a_run=a_run,
        a_group=a_group,
        b_run=b_run,
        b_group=b_group,
        a_import=import_job(a_round, orgs["vn"], users[SEC]),
        b_import=import_job(b_round, orgs["th"], b_secretariat),
        a_invitation=invitation(a, users[SEC], "walk.invitee.a@example.org"),
        b_invitation=invitation(b, b_secretariat, "walk.invitee.b@example.org"),
        th_participation=users[TH].participations.get(consultation=a),
        b_secretariat=b_secretariat,
        orgs=orgs,
    )
    return Scenario(users=users, a=a, b=b, objects=objects)


@pytest.fixture(scope="module")
def scenario(django_db_setup, django_db_blocker):
    """Built once; every test of the module runs inside its transaction, rolled back at the end."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield _build()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


# --- targets: how kwargs are filled ------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Objects a URL is aimed at. `consultation`: whose objects; `sees`: who may see the object
    itself (None: everyone who may see the consultation)."""

    name: str
    consultation: str  # "a" or "b"
    sees: frozenset | None = None


A = Target("own consultation", "a")
B = Target("other consultation", "b")
VN_DRAFT = Target("Viet Nam's draft", "a", frozenset({VN, VNFP}))
TH_SECRET = Target("Thailand's secretariat-only comment", "a", frozenset({TH, SEC, CONS}) | STAFF)
B_COMMENT = Target("other consultation's comment", "b")
VN_REPORT = Target("Viet Nam's report", "a", frozenset({VN, SEC}) | STAFF)
VN_NOTIFICATION = Target("the Vietnamese delegate's notification", "a", frozenset({VN}))
B_REPORT = Target("other consultation's report", "b")
COMMENT_TARGETS = (VN_DRAFT, TH_SECRET, B_COMMENT)
NO_TARGET = Target("", "")


def _consultation(s: Scenario, t: Target):
    return s.a if t.consultation == "a" else s.b


def _o(s: Scenario, t: Target, name: str):
    return s.objects[f"{t.consultation}_{name}"]


def _comment(s: Scenario, t: Target) -> Comment:
    return {VN_DRAFT: s.objects["vn_draft"], TH_SECRET: s.objects["th_secret"], B_COMMENT: s.objects["b_comment"]}[t]


FILL: dict[str, Callable[[Scenario, Target], dict]] = {
    "none": lambda s, t: {},
    "notification": lambda s, t: {"pk": s.objects["a_vn_notification"].pk},
    "slug": lambda s, t: {"slug": _consultation(s, t).slug},
    "version": lambda s, t: {"slug": _consultation(s, t).slug, "number": _o(s, t, "version").number},
    "prep": lambda s, t: {"slug": _consultation(s, t).slug, "number": _o(s, t, "prep").number},
    "section": lambda s, t: {"slug": _consultation(s, t).slug, "number": _o(s, t, "version").number, "key": "infra-5g"},
    "prep_section": lambda s, t: {
        "slug": _consultation(s, t).slug,
        "number": _o(s, t, "prep").number,
        "key": "infra-5g",
    },
    "round_pk": lambda s, t: {"slug": _consultation(s, t).slug, "pk": _o(s, t, "round").pk},
    "round_id": lambda s, t: {"slug": _consultation(s, t).slug, "round_id": _o(s, t, "round").pk},
    "round_section": lambda s, t: {
        "slug": _consultation(s, t).slug,
        "round_id": _o(s, t, "round").pk,
        "key": "infra-5g",
    },
    "comment": lambda s, t: {"slug": _consultation(s, t).slug, "pk": _comment(s, t).pk},
    "feedback_comment": lambda s, t: {
        "slug": _consultation(s, t).slug,
        "round_id": _comment(s, t).round_id,
        "pk": _comment(s, t).pk,
    },
    "run": lambda s, t: {
        "slug": _consultation(s, t).slug,
        "round_id": _o(s, t, "round").pk,
        "run_id": _o(s, t, "run").pk,
    },
    "group": lambda s, t: {
        "slug": _consultation(s, t).slug,
        "round_id": _o(s, t, "round").pk,
        "group_id": _o(s, t, "group").pk,
    },
    "report": lambda s, t: {
        "slug": _consultation(s, t).slug,
        "pk": (s.objects["a_vn_report"] if t is VN_REPORT else s.objects["b_report"]).pk,
    },
    "import": lambda s, t: {"slug": _consultation(s, t).slug, "pk": _o(s, t, "import").pk},
    "invitation": lambda s, t: {"token": _o(s, t, "invitation").token},
    # API: ids only (the API's scoped fetches find the consultation themselves).
    "api_slug": lambda s, t: {"slug": _consultation(s, t).slug},
    "api_version": lambda s, t: {"slug": _consultation(s, t).slug, "number": _o(s, t, "version").number},
    "api_prep": lambda s, t: {"slug": _consultation(s, t).slug, "number": _o(s, t, "prep").number},
    "api_prep_section": lambda s, t: {
        "slug": _consultation(s, t).slug,
        "number": _o(s, t, "prep").number,
        "key": "infra-5g",
    },
    "api_round_pk": lambda s, t: {"pk": _o(s, t, "round").pk},
    "api_round_id": lambda s, t: {"round_id": _o(s, t, "round").pk},
    "api_comment_pk": lambda s, t: {"pk": _comment(s, t).pk},
    "api_comment_id": lambda s, t: {"comment_id": _comment(s, t).pk},
    "api_run": lambda s, t: {"pk": _o(s, t, "run").pk},
    "api_group": lambda s, t: {"pk": _o(s, t, "group").pk},
    "api_report": lambda s, t: {"pk": (s.objects["a_vn_report"] if t is VN_REPORT else s.objects["b_report"]).pk},
    "api_import": lambda s, t: {"pk": _o(s, t, "import").pk},
    "docs_asset": lambda s, t: {"path": "swagger-ui-dist/swagger-ui.css"},
    # allauth keys and tokens: made-up ones (the flows are tested in tests/accounts).
    "email_key": lambda s, t: {"key": "walk-not-a-key"},
    "reset_key": lambda s, t: {"uidb36": "1z", "key": "walk-not-a-key"},
    # admin
    "admin_ct": lambda s, t: {
        "content_type_id": str(ContentType.objects.get_for_model(type(s.b)).pk),
        "object_id": str(s.b.pk),
    },
    "admin_app": lambda s, t: {"app_label": "consultations"},
    "admin_user": lambda s, t: {"id": s.users[TH].pk},
    "admin_catch_all": lambda s, t: {"url": "walk/nothing/"},
}

# Admin object ids per model (the consultation B side: the admin sees every consultation).
ADMIN_OBJECTS: dict[str, Callable[[Scenario], object]] = {
    "auth_group": lambda s: None,
    "account_emailaddress": lambda s: s.users[TH].emailaddress_set.first(),
    "mfa_authenticator": lambda s: None,
    "accounts_user": lambda s: s.users[TH],
    "accounts_organisation": lambda s: s.objects["orgs"]["th"],
    "consultations_invitation": lambda s: s.objects["b_invitation"],
    "consultations_consultation": lambda s: s.b,
    "consultations_participation": lambda s: s.objects["th_participation"],
    "consultations_draftversion": lambda s: s.objects["b_prep"],
    "consultations_section": lambda s: s.objects["b_prep"].sections.first(),
    "consultations_engagementround": lambda s: s.objects["b_round"],
    "consultations_roundextension": lambda s: None,
    "consultations_roundnotice": lambda s: None,
    "consultations_roundreminder": lambda s: None,
    "comments_comment": lambda s: s.objects["th_secret"],
    "comments_nationalposition": lambda s: None,
    "consolidation_disposition": lambda s: None,
    "consolidation_consolidationrun": lambda s: s.objects["b_run"],
    "consolidation_carriedanchor": lambda s: None,
    "audit_auditentry": lambda s: AuditEntry.objects.filter(consultation=s.b).first(),
}


# --- the table -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Route:
    """fill: a FILL key; targets: what it is aimed at; get/write: who may reach it on target A
    (or on the target's own objects); write=None: the URL takes no writes from the walker.
    kind: "page" (refusal of anonymous is a login redirect), "api" (401/403), "admin"
    (a redirect to the admin login), "auth" (allauth's own pages and headless API: anyone, GET only),
    "public" (anyone)."""

    fill: str
    get: frozenset
    write: frozenset | None = None
    targets: tuple = (A, B)
    kind: str = "page"
    reveals: frozenset = frozenset()  # markers this URL may show to anyone who reaches it
    # who is walked through it: everyone, except on URLs that show no consultation's objects
    # (allauth, public and admin pages), where a sample of each kind of visitor keeps it fast
    walked_by: frozenset = frozenset(PERSONAS)


def page(fill, get, write=None, targets=(A, B), **kw):
    return Route(fill, frozenset(get), None if write is None else frozenset(write), targets, "page", **kw)


def api(fill, get, write=None, targets=(A, B), **kw):
    return Route(fill, frozenset(get), None if write is None else frozenset(write), targets, "api", **kw)


SAMPLE = frozenset({ANON, TH, ADMIN, SUPER})  # anonymous, a participant, a staff user, a superuser


def unscoped(fill, get, kind, **kw):
    return Route(fill, frozenset(get), None, (NO_TARGET,), kind, walked_by=SAMPLE, **kw)


ANYONE = unscoped("none", EVERYONE, "public")
AUTH = unscoped("none", EVERYONE, "auth")
ALL_IN = IN_A | STAFF  # everyone who may see consultation A
MANAGERS = frozenset({SEC}) | STAFF  # manage_rounds, invite_participants, run consolidation, imports
DRAFTERS = frozenset({SEC, CONS}) | STAFF  # manage_versions, read drafts in preparation, feedback
COMMENTERS = frozenset({VN, VNFP, TH, PARTNER})  # the round admits member states and partners

ROUTES: dict[str, Route] = {
    # --- site -----------------------------------------------------------------------------
    "/": ANYONE,
    "healthz": ANYONE,
    "favicon": ANYONE,
    "set_language": ANYONE,
    "accounts:profile": page("none", SIGNED_IN, targets=(NO_TARGET,)),
    "notifications:inbox": page("none", SIGNED_IN, targets=(NO_TARGET,)),
    "notifications:read_all": page("none", SIGNED_IN, SIGNED_IN, targets=(NO_TARGET,)),
    # Only its recipient: anyone else, the secretariat and site admins included, gets a 404.
    "notifications:open": page("notification", SIGNED_IN, targets=(VN_NOTIFICATION,)),
    "notifications:read": page("notification", SIGNED_IN, SIGNED_IN, targets=(VN_NOTIFICATION,)),
    # The token is the capability: whoever holds it sees which consultation invites them.
    "invitations:accept": Route(
        "invitation", EVERYONE, None, (A, B), "public", reveals=frozenset({"mk-a-title-Hn3v", "mk-b-title-Lm0e"})
    ),
    # --- consultations: reading -----------------------------------------------------------------
    "consultations:list": page("none", SIGNED_IN, targets=(NO_TARGET,)),
    "consultations:detail": page("slug", ALL_IN),
    "consultations:version": page("version", ALL_IN),
    # --- consultations: management -----------------------------------------------------------
    "consultations:manage": page("slug", DRAFTERS),
    "consultations:round_create": page("slug", MANAGERS, MANAGERS),
    "consultations:round_edit": page("round_pk", MANAGERS, MANAGERS),
    "consultations:round_open": page("round_pk", MANAGERS, MANAGERS),  # GET: a confirmation page
    "consultations:round_close": page("round_pk", MANAGERS, MANAGERS),  # GET: a confirmation page
    "consultations:round_extend": page("round_pk", MANAGERS, MANAGERS),
    "consultations:participants": page("slug", MANAGERS, MANAGERS),
    "consultations:version_upload": page("slug", DRAFTERS, DRAFTERS),
    "consultations:version_copy": page("version", DRAFTERS, DRAFTERS),  # GET: a confirmation page
    "consultations:version_edit": page("prep", DRAFTERS, DRAFTERS),
    "consultations:version_publish": page("prep", DRAFTERS, DRAFTERS),
    "consultations:section_add": page("prep", DRAFTERS, DRAFTERS),
    "consultations:section_edit": page("prep_section", DRAFTERS, DRAFTERS),
    "consultations:section_delete": page("prep_section", DRAFTERS, DRAFTERS),
    # --- comments ---------------------------------------------------------------------------------
    # GET shows the form to whoever may read the section; the service refuses the write.
    "comments:section": page("section", ALL_IN),
    "comments:create": page("round_section", COMMENTERS, COMMENTERS),
    "comments:edit": page("comment", {VN, TH}, {VN, TH}, targets=COMMENT_TARGETS),
    "comments:submit": page("comment", NOBODY, {VN, TH}, targets=COMMENT_TARGETS),
    "comments:withdraw": page("comment", NOBODY, {VN, TH}, targets=COMMENT_TARGETS),
    "comments:detail": page("comment", ALL_IN, targets=COMMENT_TARGETS),
    "comments:replies": page("comment", ALL_IN, targets=COMMENT_TARGETS),
    "comments:reply": page("comment", NOBODY, ALL_IN - STAFF, targets=COMMENT_TARGETS),
    "comments:endorse": page("comment", NOBODY, {VNFP}, targets=COMMENT_TARGETS),
    "comments:flag": page("comment", NOBODY, ALL_IN - STAFF, targets=COMMENT_TARGETS),
    "comments:return": page("comment", NOBODY, {VNFP}, targets=COMMENT_TARGETS),
    "comments:hide": page("comment", NOBODY, MANAGERS, targets=COMMENT_TARGETS),
    "comments:unhide": page("comment", NOBODY, MANAGERS, targets=COMMENT_TARGETS),
    # The author, the delegation's focal point, the organisers (site admins stand in).
    "comments:resolve": page("comment", NOBODY, {VN, VNFP, TH} | DRAFTERS, targets=COMMENT_TARGETS),
    # Another delegation, for a comment it sees; the service refuses one's own (403).
    "comments:support": page("comment", NOBODY, COMMENTERS, targets=COMMENT_TARGETS),
    # Who may be named: JSON of the thread's audience only (site admins: nobody to list).
    "comments:mentions": page("round_id", ALL_IN),
    "comments:mine": page("slug", ALL_IN),
    "comments:search": page("slug", ALL_IN),
    "comments:position": page("round_id", {VNFP, SEC, CONS} | STAFF, {VNFP}),
    "comments:tracker": page("round_id", DRAFTERS, MANAGERS),
    # --- consolidation, feedback, reports, imports -------------------------------------------------
    "consolidation:run_list": page("round_id", DRAFTERS),
    "consolidation:run_create": page("round_id", NOBODY, MANAGERS),
    "consolidation:run_detail": page("run", DRAFTERS),
    "consolidation:feedback": page("round_id", DRAFTERS),
    "consolidation:disposition_propose": page("feedback_comment", NOBODY, DRAFTERS, targets=COMMENT_TARGETS),
    "consolidation:disposition_record": page("feedback_comment", NOBODY, MANAGERS, targets=COMMENT_TARGETS),
    "consolidation:disposition_approve": page("feedback_comment", NOBODY, MANAGERS, targets=COMMENT_TARGETS),
    "consolidation:disposition_group_record": page("group", NOBODY, MANAGERS),
    "consolidation:disposition_form": page("feedback_comment", DRAFTERS, targets=COMMENT_TARGETS),
    "consolidation:disposition_bulk_record": page("round_id", NOBODY, MANAGERS),
    "consolidation:comments_assign": page("round_id", NOBODY, MANAGERS),
    "consolidation:revision": page("version", ALL_IN),
    "consolidation:reports": page("slug", ALL_IN),
    "consolidation:report_create": page("slug", ALL_IN, ALL_IN),
    "consolidation:comment_template": page("slug", ALL_IN),
    "consolidation:report_detail": page("report", ALL_IN, targets=(VN_REPORT, B_REPORT)),
    "consolidation:report_download": page("report", ALL_IN, targets=(VN_REPORT, B_REPORT)),
    "consolidation:import_create": page("round_id", MANAGERS, MANAGERS),
    "consolidation:import_detail": page("import", MANAGERS),
    # --- audit log: the consultation's secretariat and site admins ---------------------------------
    "consultations:audit": page("slug", MANAGERS),
    "consultations:audit_csv": page("slug", MANAGERS),
    # --- API ----------------------------------------------------------------------------------------
    "api:consultation-list": api("none", SIGNED_IN, targets=(NO_TARGET,)),
    "api:consultation-detail": api("api_slug", ALL_IN),
    "api:phase-list": api("api_slug", ALL_IN, MANAGERS),
    "api:round-list": api("api_slug", ALL_IN, MANAGERS),
    "api:version-list": api("api_slug", ALL_IN, DRAFTERS),
    "api:version-detail": api("api_version", ALL_IN),
    "api:version-copy": api("api_version", NOBODY, DRAFTERS),
    "api:version-publish": api("api_prep", NOBODY, DRAFTERS),
    "api:section-list": api("api_prep", DRAFTERS, DRAFTERS),
    "api:section-detail": api("api_prep_section", DRAFTERS, DRAFTERS),
    "api:participant-list": api("api_slug", MANAGERS),
    "api:invitation-list": api("api_slug", MANAGERS, MANAGERS),
    "api:round-detail": api("api_round_pk", ALL_IN),
    "api:round-reschedule": api("api_round_pk", NOBODY, MANAGERS),
    "api:round-open-now": api("api_round_pk", NOBODY, MANAGERS),
    "api:round-close-now": api("api_round_pk", NOBODY, MANAGERS),
    "api:round-extend": api("api_round_pk", NOBODY, MANAGERS),
    "api:round-comments": api("api_round_id", ALL_IN, COMMENTERS),
    "api:national-position": api("api_round_id", {VNFP}, {VNFP}),
    "api:round-annotations": api("api_round_pk", ALL_IN),
    "api:comment-detail": api("api_comment_pk", ALL_IN, {VN, TH}, targets=COMMENT_TARGETS),
    "api:comment-submit": api("api_comment_pk", NOBODY, {VN, TH}, targets=COMMENT_TARGETS),
    "api:comment-withdraw": api("api_comment_pk", NOBODY, {VN, TH}, targets=COMMENT_TARGETS),
    "api:comment-endorsement": api("api_comment_pk", NOBODY, {VNFP}, targets=COMMENT_TARGETS),
    "api:comment-hide": api("api_comment_pk", NOBODY, MANAGERS, targets=COMMENT_TARGETS),
    "api:comment-return": api("api_comment_pk", NOBODY, {VNFP}, targets=COMMENT_TARGETS),
    "api:comment-unhide": api("api_comment_pk", NOBODY, MANAGERS, targets=COMMENT_TARGETS),
    "api:comment-flags": api("api_comment_pk", NOBODY, ALL_IN - STAFF, targets=COMMENT_TARGETS),
    "api:comment-support": api("api_comment_pk", NOBODY, COMMENTERS, targets=COMMENT_TARGETS),
    "api:comment-resolution": api("api_comment_pk", NOBODY, {VN, VNFP, TH} | DRAFTERS, targets=COMMENT_TARGETS),
    "api:comment-replies": api("api_comment_id", ALL_IN, ALL_IN - STAFF, targets=COMMENT_TARGETS),
    "api:round-consolidations": api("api_round_id", DRAFTERS, MANAGERS),
    "api:consolidation-detail": api("api_run", DRAFTERS),
    "api:round-feedback": api("api_round_id", DRAFTERS),
    "api:comment-disposition": api("api_comment_pk", DRAFTERS, MANAGERS, targets=COMMENT_TARGETS),
    "api:comment-disposition-proposal": api("api_comment_pk", NOBODY, DRAFTERS, targets=COMMENT_TARGETS),
    "api:comment-disposition-approve": api("api_comment_pk", NOBODY, MANAGERS, targets=COMMENT_TARGETS),
    "api:group-disposition": api("api_group", NOBODY, MANAGERS),
    "api:report-list": api("api_slug", ALL_IN, ALL_IN),
    "api:report-detail": api("api_report", ALL_IN, targets=(VN_REPORT, B_REPORT)),
    "api:report-download": api("api_report", ALL_IN, targets=(VN_REPORT, B_REPORT)),
    "api:audit-list": api("api_slug", MANAGERS),
    "api:round-imports": api("api_round_id", NOBODY, MANAGERS),
    "api:import-detail": api("api_import", MANAGERS),
    "api:schema": ANYONE,
    "api:docs": ANYONE,
    "api:docs-assets": unscoped("docs_asset", EVERYONE, "public"),
    # --- admin: staff only; model pages for the superuser (a staff user without model permissions is refused)
    "account_confirm_email": unscoped("email_key", EVERYONE, "auth"),
    "account_reset_password_from_key": unscoped("reset_key", EVERYONE, "auth"),
    "admin:index": unscoped("none", STAFF, "admin"),
    "admin:login": ANYONE,
    "admin:logout": unscoped("none", EVERYONE, "auth"),
    "admin:password_change": unscoped("none", STAFF, "admin"),
    "admin:password_change_done": unscoped("none", STAFF, "admin"),
    "admin:autocomplete": unscoped("none", NOBODY, "admin"),
    "admin:jsi18n": unscoped("none", STAFF, "admin"),
    "admin:view_on_site": unscoped("admin_ct", STAFF, "admin"),
    "admin:app_list": unscoped("admin_app", {SUPER}, "admin"),
    "admin:auth_user_password_change": unscoped("admin_user", {SUPER}, "admin"),
    "admin/(?P<url>.*)$": unscoped("admin_catch_all", NOBODY, "admin"),
}
for _model in ADMIN_OBJECTS:
    for _suffix, _fill in (
        ("changelist", "none"),
        ("add", "none"),
        ("history", "admin_object"),
        ("delete", "admin_object"),
        ("change", "admin_object"),
        ("redirect", "admin_object"),
    ):
        # Site admins see consultations in the admin too (consultations.view_consultation).
        _who = STAFF if _model == "consultations_consultation" and _suffix != "add" else {SUPER}
        ROUTES[f"admin:{_model}_{_suffix}"] = unscoped(_fill, _who, "admin")

# allauth (pages and headless API): their own flows, tested in tests/accounts; walked with GET for
# crashes and leaks, as every persona.
ALLAUTH_PREFIXES = ("account_", "mfa_", "headless:")


def route_for(key: str) -> Route | None:
    if key in ROUTES:
        return ROUTES[key]
    if key.startswith(ALLAUTH_PREFIXES):
        return AUTH
    return None


# --- the resolver -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pattern:
    key: str  # the URL name ("ns:name"), or a stand-in for an unnamed pattern
    name: str | None
    regex: str
    callback: object
    admin_model: str | None = None


ADMIN_MODELS = {f"{m._meta.app_label}_{m._meta.model_name}" for m in admin.site._registry}


def _patterns(resolver=None, namespace=None, prefix="") -> list[Pattern]:
    resolver = resolver or get_resolver()
    found: list[Pattern] = []
    for item in resolver.url_patterns:
        if isinstance(item, URLResolver):
            ns = namespace
            if item.namespace:
                ns = f"{namespace}:{item.namespace}" if namespace else item.namespace
            found += _patterns(item, ns, prefix + str(item.pattern))
        elif isinstance(item, URLPattern):
            name = f"{namespace}:{item.name}" if namespace and item.name else item.name
            regex = prefix + str(item.pattern)
            key = name or regex
            # A ModelAdmin's own pages: admin/<app>/<model>/[add/ | <object id>/...]
            model_page = re.match(r"^admin/(\w+)/(\w+)/(?:$|add/$|<path:object_id>/)", regex)
            admin_model = f"{model_page[1]}_{model_page[2]}" if model_page else None
            if admin_model not in ADMIN_MODELS:
                admin_model = None
            if name is None and admin_model:
                key = f"admin:{admin_model}_redirect"  # the unnamed "object id -> change page" redirect
            elif regex in ("", "admin/(?P<url>.*)$"):
                key = regex or "/"
            found.append(Pattern(key, name, regex, item.callback, admin_model))
    return found


def test_every_url_pattern_has_a_row():
    """A new view must be classified here before it ships (and so is walked)."""
    patterns = _patterns()
    assert len(patterns) > 200
    missing = sorted({p.key for p in patterns if route_for(p.key) is None})
    assert not missing, "URL patterns the walker does not know how to fill or who may reach: " + ", ".join(missing)
    unknown_admin = sorted({p.admin_model for p in patterns if p.admin_model and p.admin_model not in ADMIN_OBJECTS})
    assert not unknown_admin, f"admin models without an object to aim at: {unknown_admin}"
    stale = sorted(set(ROUTES) - {p.key for p in patterns})
    assert not stale, f"rows for URL patterns that no longer exist: {stale}"


# --- the walk ---------------------------------------------------------------------------------------

WRITE_METHODS = ("post", "put", "patch", "delete")


def _url(s: Scenario, pattern: Pattern, route: Route, target: Target) -> str:
    if route.fill == "admin_object":
        obj = ADMIN_OBJECTS[pattern.admin_model](s)
        object_id = str(obj.pk) if obj is not None else "999999"
        if pattern.name is None:
            return f"/{pattern.regex.replace('<path:object_id>', object_id)}"
        return reverse(pattern.name, kwargs={"object_id": object_id})
    if pattern.name is None:
        if pattern.regex == "":
            return "/"
        if pattern.regex == "admin/(?P<url>.*)$":
            return "/admin/walk/nothing/"
        raise AssertionError(f"no way to build {pattern.regex}")
    return reverse(pattern.name, kwargs=FILL[route.fill](s, target))


def _write_methods(pattern: Pattern, route: Route) -> tuple[str, ...]:
    if route.write is None:
        return ()
    actions = getattr(pattern.callback, "actions", None)  # a DRF viewset: the methods it routes
    if actions:
        return tuple(m for m in WRITE_METHODS if m in actions)
    return ("post",)


def _is_login_redirect(response) -> bool:
    location = response.get("Location", "")
    return response.status_code in (301, 302, 303) and ("/accounts/login/" in location or "/admin/login/" in location)


def _reached(response, route: Route) -> bool:
    if 200 <= response.status_code < 300:
        return True
    if route.kind == "admin" and response.get("Location", "").startswith("/admin/"):
        return False  # the admin's own redirects (id -> change page, missing object -> index)
    return 300 <= response.status_code < 400 and not _is_login_redirect(response)


def _body(response) -> str:
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    return content.decode("utf-8", "replace")


def _refusal_ok(response, persona: str, route: Route, target: Target, write: bool) -> str | None:
    """None if the refusal is the right one; else what is wrong with it."""
    code = response.status_code
    if code == 405:
        return None
    if persona == ANON:
        if route.kind == "api":
            return None if code in (401, 403) else f"{code} (anonymous: want 401)"
        return None if _is_login_redirect(response) or code in (401, 403, 404) else f"{code} (anonymous: want login)"
    if route.kind == "admin":
        admin_redirect = 300 <= code < 400 and response.get("Location", "").startswith("/admin/")
        return None if admin_redirect or code in (403, 404) else f"{code} (admin page: want refusal)"
    in_consultation = persona in STAFF or (persona in IN_A if target.consultation == "a" else persona == OUTSIDER)
    may_see_object = in_consultation and (target.sees is None or persona in target.sees)
    audience = route.write if write else route.get
    # Refused for the role, whatever the object (checked before the object is even fetched).
    role_refusal = in_consultation and persona not in (audience or ()) and persona != OUTSIDER
    if may_see_object or (role_refusal and code == 403):
        # Inside their own consultation a role refusal may say so (403); a write may also be
        # refused for its content or the round's state, never answered with success.
        return None if code in (400, 403, 404, 409) else f"{code} (want 403/404)"
    return None if code == 404 else f"{code} (outside their scope: want 404)"


def _allowed(route: Route, persona: str, target: Target, write: bool) -> bool:
    audience = route.write if write else route.get
    if audience is None:
        return False
    if target.consultation == "b":
        # The other consultation: its own participant (B's focal point delegate) and staff.
        audience = (audience & STAFF) | ({OUTSIDER} if audience & {VNFP, TH, VN} else set())
    if target.sees is not None:
        audience = audience & (target.sees | ({OUTSIDER} if target.consultation == "b" else set()))
    return persona in audience


def _clients(s: Scenario) -> dict[str, Client]:
    clients = {}
    for persona in PERSONAS:
        client = Client(raise_request_exception=False)
        if persona != ANON:
            client.force_login(s.users[persona])
        clients[persona] = client
    return clients


def walk(s: Scenario, personas: list[str]) -> tuple[list[str], int]:
    clients = _clients(s)
    failures: list[str] = []
    requests = 0
    for pattern in _patterns():
        route = route_for(pattern.key)
        if route is None:
            continue  # test_every_url_pattern_has_a_row fails for it
        for target, persona in itertools.product(route.targets, personas):
            if persona not in route.walked_by:
                continue
            url = _url(s, pattern, route, target)
            where = f"{pattern.key} [{target.name or '-'}] as {persona}"
            methods = [("get", False)]
            if route.kind not in ("auth", "public") and not _allowed(route, persona, target, True):
                methods += [(m, True) for m in _write_methods(pattern, route)]
            for method, write in methods:
                kwargs = {"content_type": "application/json"} if route.kind == "api" and write else {}
                response = getattr(clients[persona], method)(url, **kwargs)
                requests += 1
                label = f"{method.upper()} {url} ({where})"
                if response.status_code >= 500:
                    failures.append(f"{label}: {response.status_code}")
                    continue
                body = _body(response)
                for marker, audience in MARKERS.items():
                    if persona not in audience and marker not in route.reveals and marker in body:
                        failures.append(f"{label}: leaks {marker!r} ({response.status_code})")
                if route.kind in ("auth", "public") or _allowed(route, persona, target, write):
                    continue
                if _reached(response, route):
                    failures.append(f"{label}: unexpected {response.status_code} {response.get('Location', '')}")
                    continue
                wrong = _refusal_ok(response, persona, route, target, write)
                if wrong:
                    failures.append(f"{label}: {wrong}")
    return failures, requests


def _restore_report_files(s: Scenario) -> None:
    """Each test gets a fresh in-memory file storage (tests/conftest.py): put the files back."""
    for key, text in (("a_vn_report", "mk-vn-report-Jc6"), ("b_report", "mk-b-report-Kd9")):
        report = s.objects[key]
        report.file.save(f"walk-{report.pk}.csv", ContentFile(f"No.,Organisation\r\n1,{text}\r\n".encode()))


@pytest.mark.parametrize("persona", PERSONAS)
def test_walk_every_url_as(persona, scenario, db):
    _restore_report_files(scenario)
    failures, requests = walk(scenario, [persona])
    assert requests > 100
    assert not failures, f"{len(failures)} of {requests} requests went wrong:\n" + "\n".join(failures)
