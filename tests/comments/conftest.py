"""Fixtures local to the comments tests.

Comments are built directly with tests.factories.CommentFactory when a test is about reading
(visibility); tests about writing go through comments.services.
"""

import pytest

from tests import factories


@pytest.fixture
def make_round(version):
    """An engagement round on `version` with the given fields (state open by default)."""

    def make(**fields):
        return factories.EngagementRoundFactory(version=version, **fields)

    return make
