import pytest
from django.db import connection

from tests import factories


@pytest.fixture
def superuser(db):
    return factories.UserFactory(email="root@example.org", is_staff=True, is_superuser=True)


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
