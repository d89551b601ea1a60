"""factory_boy factories for the platform's objects."""

from datetime import date, timedelta

import factory
from allauth.account.models import EmailAddress
from django.utils import timezone

from accounts.models import Organisation, User
from consultations.models import (
    Consultation,
    DraftVersion,
    EngagementRound,
    Participation,
    Phase,
    Role,
    Section,
)

PASSWORD = "consult-test-2030"


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = Role.MEMBER_STATE
    country_code = factory.LazyAttribute(lambda o: "VN" if o.kind == Role.MEMBER_STATE else "")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("email",)
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        if create:
            obj.save()
            EmailAddress.objects.get_or_create(user=obj, email=obj.email, defaults={"primary": True, "verified": True})


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
    commenting_roles = factory.LazyFunction(lambda: [Role.MEMBER_STATE, Role.PARTNER])
    visibility = EngagementRound.Visibility.SECRETARIAT_ONLY
    state = EngagementRound.State.OPEN


SECTION_KINDS = [Section.Kind.COMPONENT, Section.Kind.CHAPTER, Section.Kind.CLAUSE]


def build_sections(version, rows) -> dict[str, Section]:
    """A section tree from rows of (key, number, heading, body, parent key or None) in document order."""
    created: dict[str, Section] = {}
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
