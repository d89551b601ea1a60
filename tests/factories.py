"""factory_boy factories: one for every model of the project, in this one place.

Models are looked up by name through the apps registry (`project_model`), not imported from
an app's models module, so a model moving between apps (Invitation to consultations,
Disposition to consolidation) needs no change here. tests/test_factories.py fails when a
model of the project has no factory, and builds every one of them.

Each factory's create() with no arguments gives a valid row (it passes full_clean); related
rows it needs are made by sub-factories. Rows that services keep consistent (a round's
final_closes_at after an extension, a comment's revision history) are not kept so here: tests
about those go through the services.
"""

from datetime import date, timedelta
from typing import Any

import factory
from allauth.account.models import EmailAddress
from django.apps import apps
from django.conf import settings
from django.utils import timezone

from audit.services import audit_log


def project_apps() -> list[str]:
    """Labels of the project's own apps (those whose code lives in this repository)."""
    base = str(settings.BASE_DIR)
    return [
        config.label
        for config in apps.get_app_configs()
        if str(config.path).startswith(base) and "site-packages" not in str(config.path)
    ]


def project_model(name: str) -> Any:
    """The project's model class called `name`, whichever of the project's apps holds it (found at run time)."""
    found = [m for m in apps.get_models() if m._meta.app_label in project_apps() and m.__name__ == name]
    if len(found) != 1:
        raise LookupError(f"{len(found)} project models are called {name!r}")
    return found[0]


Organisation = project_model("Organisation")
User = project_model("User")
Invitation = project_model("Invitation")
Consultation = project_model("Consultation")
Phase = project_model("Phase")
Participation = project_model("Participation")
DraftVersion = project_model("DraftVersion")
Section = project_model("Section")
EngagementRound = project_model("EngagementRound")
RoundExtension = project_model("RoundExtension")
RoundNotice = project_model("RoundNotice")
RoundReminder = project_model("RoundReminder")
Comment = project_model("Comment")
CommentRevision = project_model("CommentRevision")
Reply = project_model("Reply")
CommentFlag = project_model("CommentFlag")
CommentSupport = project_model("CommentSupport")
CommentReturn = project_model("CommentReturn")
NationalPosition = project_model("NationalPosition")
Notification = project_model("Notification")
Disposition = project_model("Disposition")
CommentCount = project_model("CommentCount")
CommentAssignment = project_model("CommentAssignment")
AuditEntry = project_model("AuditEntry")
ConsolidationRun = project_model("ConsolidationRun")
ConsolidationChunk = project_model("ConsolidationChunk")
ConsolidationListing = project_model("ConsolidationListing")
GroupingState = project_model("GroupingState")
GroupingText = project_model("GroupingText")
GroupingPair = project_model("GroupingPair")
DuplicateGroup = project_model("DuplicateGroup")
DuplicateGroupMember = project_model("DuplicateGroupMember")
CarriedAnchor = project_model("CarriedAnchor")
Report = project_model("Report")
ImportJob = project_model("ImportJob")
CarryOverJob = project_model("CarryOverJob")

PASSWORD = "consult-test-2030"

# Role values as stored on Participation.role (consultations.models.Role).
SECRETARIAT, CONSULTANT, MEMBER_STATE, PARTNER = "secretariat", "consultant", "member_state", "partner"


# --- accounts -------------------------------------------------------------------------------


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = MEMBER_STATE
    country_code = factory.LazyAttribute(lambda o: "VN" if o.kind == MEMBER_STATE else "")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified_email(obj: Any, create, extracted, **kwargs):
        if create:
            obj.save()
            EmailAddress.objects.get_or_create(user=obj, email=obj.email, defaults={"primary": True, "verified": True})


class MemberFactory(UserFactory):
    """A user acting for an organisation (the author of a comment, a reply, an import)."""

    organisation = factory.SubFactory(OrganisationFactory)


# --- consultations --------------------------------------------------------------------------


class ConsultationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consultation

    title = factory.Sequence(lambda n: f"Regional digital masterplan {n}")
    slug = factory.Sequence(lambda n: f"masterplan-{n}")
    description = "A draft regional strategy put up for review."


class PhaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phase

    consultation = factory.SubFactory(ConsultationFactory)
    name = factory.Sequence(lambda n: f"Phase {n}")
    starts_on = date(2025, 6, 1)
    ends_on = date(2025, 8, 31)


class ParticipationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Participation

    consultation = factory.SubFactory(ConsultationFactory)
    user = factory.SubFactory(UserFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = factory.LazyAttribute(lambda p: p.organisation.kind)
    is_focal_point = False


class InvitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invitation

    email = factory.Sequence(lambda n: f"invitee{n}@example.org")
    consultation = factory.SubFactory(ConsultationFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    role = factory.LazyAttribute(lambda i: i.organisation.kind)
    invited_by = factory.SubFactory(UserFactory)


class DraftVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DraftVersion

    consultation = factory.SubFactory(ConsultationFactory)
    number = factory.Sequence(lambda n: f"0.{n + 1}")
    major = factory.LazyAttribute(lambda v: int(v.number.split(".")[0]))
    minor = factory.LazyAttribute(lambda v: int(v.number.split(".")[1]))
    status = DraftVersion.Status.PUBLISHED
    published_at = factory.LazyFunction(timezone.now)


class SectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Section

    version = factory.SubFactory(DraftVersionFactory)
    key = factory.Sequence(lambda n: f"sec{n}")
    kind = Section.Kind.CLAUSE
    number = factory.Sequence(lambda n: f"1.{n + 1}")
    heading = factory.Sequence(lambda n: f"Clause heading {n}")
    body = "Member states will develop seamless and inclusive digital infrastructure."
    position = factory.Sequence(lambda n: n + 1)
    depth = 0


class EngagementRoundFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EngagementRound

    version = factory.SubFactory(DraftVersionFactory)
    consultation = factory.LazyAttribute(lambda r: r.version.consultation)
    title = factory.Sequence(lambda n: f"Stakeholder engagement {n}")
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    closes_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    final_closes_at = factory.LazyAttribute(lambda r: r.closes_at)
    commenting_roles = factory.LazyFunction(lambda: [MEMBER_STATE, PARTNER])
    visibility = EngagementRound.Visibility.SECRETARIAT_ONLY
    state = EngagementRound.State.OPEN


class ClosedRoundFactory(EngagementRoundFactory):
    """A round closed an hour ago, after ten days open."""

    title = factory.Sequence(lambda n: "First stakeholder engagement")
    opens_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=10))
    closes_at = factory.LazyFunction(lambda: timezone.now() - timedelta(hours=1))
    closed_at = factory.LazyAttribute(lambda r: r.closes_at)
    state = EngagementRound.State.CLOSED


class RoundExtensionFactory(factory.django.DjangoModelFactory):
    """An extension row only: the round's final_closes_at is the services' to move (rounds.extend)."""

    class Meta:
        model = RoundExtension

    round = factory.SubFactory(EngagementRoundFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    closes_at = factory.LazyAttribute(lambda e: e.round.closes_at + timedelta(days=3))
    reason = "The ministry asked for more time."
    granted_by = factory.SubFactory(UserFactory)


class RoundNoticeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RoundNotice

    round = factory.SubFactory(EngagementRoundFactory)
    user = factory.SubFactory(UserFactory)
    kind = RoundNotice.OPENED


class RoundReminderFactory(factory.django.DjangoModelFactory):
    """A reminder row only: consultations.reminders.round_remind is what checks and sends."""

    class Meta:
        model = RoundReminder

    round = factory.SubFactory(EngagementRoundFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    user = factory.SubFactory(UserFactory)
    requested_by = factory.SubFactory(UserFactory)


SECTION_KINDS = [Section.Kind.COMPONENT, Section.Kind.CHAPTER, Section.Kind.CLAUSE]


def build_sections(version, rows) -> dict[str, Any]:
    """A section tree from rows of (key, number, heading, body, parent key or None) in document order."""
    created: dict[str, Any] = {}
    for position, (key, number, heading, body, parent_key) in enumerate(rows, start=1):
        parent = created.get(parent_key)
        depth = 0 if parent is None else min(parent.depth + 1, 2)
        created[key] = SectionFactory(
            version=version,
            parent=parent,
            key=key,
            kind=SECTION_KINDS[depth],
            number=number,
            heading=heading,
            body=body,
            position=position,
            depth=depth,
        )
    return created


# --- comments -------------------------------------------------------------------------------


class CommentFactory(factory.django.DjangoModelFactory):
    """A comment row as it would be stored; tests about writing comments go through comments.services.

    Pass round, section and author for a comment in a given place; without them each comes new.
    """

    class Meta:
        model = Comment

    round = factory.SubFactory(EngagementRoundFactory)
    section = factory.SubFactory(SectionFactory, version=factory.SelfAttribute("..round.version"))
    author = factory.SubFactory(MemberFactory)
    organisation = factory.LazyAttribute(lambda c: c.author.organisation)
    type = Comment.Type.TECHNICAL
    body = factory.Sequence(lambda n: f"Comment {n}: the target should name a year.")
    status = Comment.Status.DRAFT
    submitted_at = factory.LazyAttribute(
        lambda c: timezone.now() if c.status in (Comment.Status.SUBMITTED, Comment.Status.WITHDRAWN) else None
    )
    withdrawn_at = factory.LazyAttribute(lambda c: timezone.now() if c.status == Comment.Status.WITHDRAWN else None)


class SubmittedCommentFactory(CommentFactory):
    status = Comment.Status.SUBMITTED


class CommentRevisionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommentRevision

    comment = factory.SubFactory(CommentFactory)
    number = factory.Sequence(lambda n: n + 1)
    action = CommentRevision.Action.CREATED
    actor = factory.LazyAttribute(lambda r: r.comment.author)
    type = factory.LazyAttribute(lambda r: r.comment.type)
    status = factory.LazyAttribute(lambda r: r.comment.status)
    body = factory.LazyAttribute(lambda r: r.comment.body)


class ReplyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Reply

    comment = factory.SubFactory(SubmittedCommentFactory)
    author = factory.SubFactory(MemberFactory)
    organisation = factory.LazyAttribute(lambda r: r.author.organisation)
    body = factory.Sequence(lambda n: f"Reply {n}: we agree.")


class CommentSupportFactory(factory.django.DjangoModelFactory):
    """Another delegation's support for a submitted comment (pass `organisation` and `supported_by`)."""

    class Meta:
        model = CommentSupport

    comment = factory.SubFactory(SubmittedCommentFactory)
    supported_by = factory.SubFactory(MemberFactory)
    organisation = factory.LazyAttribute(lambda s: s.supported_by.organisation)


class CommentFlagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CommentFlag

    comment = factory.SubFactory(SubmittedCommentFactory)
    flagged_by = factory.SubFactory(UserFactory)
    reason = "Off topic."


class CommentReturnFactory(factory.django.DjangoModelFactory):
    """A return's row as comments.services.comment_return writes it (the comment a draft again)."""

    class Meta:
        model = CommentReturn

    comment = factory.SubFactory(CommentFactory)
    returned_by = factory.SubFactory(UserFactory)
    note = "Please cite the 2028 target."
    revision = factory.LazyAttribute(lambda r: r.comment.revision)


class NationalPositionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NationalPosition

    round = factory.SubFactory(EngagementRoundFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    submitted_by = factory.SubFactory(UserFactory, organisation=factory.SelfAttribute("..organisation"))
    submitted_at = factory.LazyFunction(timezone.now)
    endorsed_count = 0


class NotificationFactory(factory.django.DjangoModelFactory):
    """A reply notification to the comment's author, unread and not yet mailed."""

    class Meta:
        model = Notification

    reply = factory.SubFactory(ReplyFactory)
    comment = factory.SelfAttribute("reply.comment")
    round = factory.SelfAttribute("comment.round")
    consultation = factory.SelfAttribute("round.consultation")
    recipient = factory.SelfAttribute("comment.author")
    actor = factory.SelfAttribute("reply.author")
    kind = "reply"
    key = factory.LazyAttribute(lambda n: f"reply:{n.reply.pk}")


class DispositionFactory(factory.django.DjangoModelFactory):
    """Undecided unless given a decision (or a proposed_decision, as the consultants would)."""

    class Meta:
        model = Disposition

    comment = factory.SubFactory(SubmittedCommentFactory)


class CommentAssignmentFactory(factory.django.DjangoModelFactory):
    """A submitted comment given to a person (any user: the service checks they are of the team)."""

    class Meta:
        model = CommentAssignment

    comment = factory.SubFactory(SubmittedCommentFactory)
    assignee = factory.SubFactory(UserFactory)
    assigned_at = factory.LazyFunction(timezone.now)


class CommentCountFactory(factory.django.DjangoModelFactory):
    """The count of a cell holding one submitted comment: the comment is made and PostgreSQL's
    triggers count it (this returns their row); on SQLite, where nothing counts, the row is written."""

    class Meta:
        model = CommentCount
        exclude = ("comment",)

    comment = factory.SubFactory(SubmittedCommentFactory)
    round = factory.SelfAttribute("comment.round")
    section = factory.SelfAttribute("comment.section")
    organisation = factory.SelfAttribute("comment.organisation")
    status = factory.SelfAttribute("comment.status")
    type = factory.SelfAttribute("comment.type")
    is_hidden = False
    disposition = "none"
    n = 1

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        cell = {key: value for key, value in kwargs.items() if key != "n"}
        return model_class.objects.filter(**cell).first() or super()._create(model_class, *args, **kwargs)


# --- audit ----------------------------------------------------------------------------------


class AuditEntryFactory(factory.django.DjangoModelFactory):
    """An entry appended through audit.services.audit_log, so its chain (seq, hashes) stays whole.

    `target` (any saved row, by default the consultation) is what the entry is about.
    """

    class Meta:
        model = AuditEntry

    actor = factory.SubFactory(UserFactory)
    action = "consultation.updated"
    consultation = factory.SubFactory(ConsultationFactory)
    target = factory.SelfAttribute("consultation")
    data = factory.LazyFunction(dict)

    @classmethod
    def _build(cls, model_class, *args, target=None, **kwargs):
        if target is not None:
            kwargs.update(target_type=target._meta.label_lower, target_id=str(target.pk))
        return super()._build(model_class, *args, **kwargs)

    @classmethod
    def _create(cls, model_class, *args, actor=None, action, consultation=None, target=None, data=None, **kwargs):
        if kwargs:
            raise TypeError(f"AuditEntryFactory sets no other fields (the chain does): {sorted(kwargs)}")
        target = target or consultation
        return audit_log(actor=actor, action=action, target=target, consultation=consultation, data=data)


# --- consolidation --------------------------------------------------------------------------


class ConsolidationRunFactory(factory.django.DjangoModelFactory):
    """A queued run of a closed round (consolidation.services.aggregation executes it)."""

    class Meta:
        model = ConsolidationRun

    round = factory.SubFactory(ClosedRoundFactory)
    requested_by = factory.SubFactory(UserFactory)


class ConsolidationListingFactory(factory.django.DjangoModelFactory):
    """The comment ids a run's snapshot lists, packed 8 bytes an id (none by default)."""

    class Meta:
        model = ConsolidationListing

    run = factory.SubFactory(ConsolidationRunFactory)
    comment_ids = b""


class ConsolidationChunkFactory(factory.django.DjangoModelFactory):
    """A planned (not yet computed) chunk of a run."""

    class Meta:
        model = ConsolidationChunk

    run = factory.SubFactory(ConsolidationRunFactory)
    index = factory.Sequence(int)
    section_ids = factory.LazyFunction(list)


class GroupingStateFactory(factory.django.DjangoModelFactory):
    """A round's grouping state, as a full run leaves it for an incremental one (no rows yet)."""

    class Meta:
        model = GroupingState

    round = factory.SubFactory(ClosedRoundFactory)
    threshold = 85.0
    schema = 1
    method = "test"


class GroupingTextFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GroupingText

    state = factory.SubFactory(GroupingStateFactory)
    digest = factory.Sequence(int)
    key = "agree"
    bands = factory.LazyFunction(lambda: [1, 2, 3])


class GroupingPairFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = GroupingPair

    state = factory.SubFactory(GroupingStateFactory)
    first = 1
    second = 2


class DuplicateGroupFactory(factory.django.DjangoModelFactory):
    """A group in a run; pass comments=[...] to fill it (size follows)."""

    class Meta:
        model = DuplicateGroup
        skip_postgeneration_save = True

    run = factory.SubFactory(ConsolidationRunFactory)
    section = factory.SubFactory(SectionFactory, version=factory.SelfAttribute("..run.round.version"))
    kind = DuplicateGroup.Kind.EXACT
    size = 2
    similarity = 100.0

    @factory.post_generation
    def comments(obj: Any, create, extracted, **kwargs):
        if create and extracted:
            obj.comments.set(extracted)
            obj.size = len(extracted)
            obj.save(update_fields=["size"])


class DuplicateGroupMemberFactory(factory.django.DjangoModelFactory):
    """A comment of the group's round and section in a group."""

    class Meta:
        model = DuplicateGroupMember

    duplicategroup = factory.SubFactory(DuplicateGroupFactory)
    comment = factory.SubFactory(
        CommentFactory,
        round=factory.SelfAttribute("..duplicategroup.run.round"),
        section=factory.SelfAttribute("..duplicategroup.section"),
    )


class CarriedAnchorFactory(factory.django.DjangoModelFactory):
    """Where a comment lands in a later version: by default the same section, whole."""

    class Meta:
        model = CarriedAnchor

    comment = factory.SubFactory(SubmittedCommentFactory)
    version = factory.SubFactory(
        DraftVersionFactory, consultation=factory.SelfAttribute("..comment.round.consultation")
    )
    section = factory.SubFactory(
        SectionFactory, version=factory.SelfAttribute("..version"), key=factory.SelfAttribute("..comment.section.key")
    )
    method = CarriedAnchor.Method.SECTION


class ReportFactory(factory.django.DjangoModelFactory):
    """A queued report; pass status, file and size for a finished one."""

    class Meta:
        model = Report

    consultation = factory.SubFactory(ConsultationFactory)
    kind = Report.Kind.RESOLUTION_MATRIX
    format = Report.Format.CSV
    requested_by = factory.SubFactory(UserFactory)


class ImportJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ImportJob

    round = factory.SubFactory(ClosedRoundFactory)
    organisation = factory.SubFactory(OrganisationFactory)
    requested_by = factory.SubFactory(UserFactory)
    file = factory.django.FileField(filename="comments.xlsx", data=b"PK\x03\x04")
    file_name = "comments.xlsx"


class CarryOverJobFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CarryOverJob

    version = factory.SubFactory(DraftVersionFactory)
