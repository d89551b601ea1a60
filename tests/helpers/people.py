"""People beyond the shared personas (tests/conftest.py): one more participant of a consultation."""

from tests import factories


def participant(consultation, organisation, email: str, role: str, *, focal: bool = False):
    """A user acting for `organisation` in `consultation` with `role`, verified and with the test password."""
    user = factories.UserFactory(email=email, organisation=organisation)
    factories.ParticipationFactory(
        consultation=consultation, user=user, organisation=organisation, role=role, is_focal_point=focal
    )
    return user
