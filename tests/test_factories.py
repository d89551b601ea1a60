"""tests/factories.py has a factory for every model of the project, and each builds a valid row."""

import inspect
from typing import Any

import factory
import pytest
from django.apps import apps

from tests import factories


def _factories_by_label() -> dict[str, type[factory.django.DjangoModelFactory]]:
    """The first factory declared for each model (variants such as ClosedRoundFactory come after it)."""
    found: dict[str, type[factory.django.DjangoModelFactory]] = {}
    for value in vars(factories).values():
        if inspect.isclass(value) and issubclass(value, factory.django.DjangoModelFactory) and value._meta.model:
            found.setdefault(value._meta.model._meta.label, value)
    return found


PROJECT_LABELS = sorted(m._meta.label for m in apps.get_models() if m._meta.app_label in factories.project_apps())
FACTORIES = _factories_by_label()


def test_the_project_apps_are_found():
    assert {"accounts", "consultations", "comments", "consolidation", "audit"} <= set(factories.project_apps())


def test_every_model_of_the_project_has_a_factory():
    missing = [label for label in PROJECT_LABELS if label not in FACTORIES]
    assert not missing, f"tests/factories.py has no factory for {missing}"


@pytest.mark.parametrize("label", PROJECT_LABELS)
def test_each_factory_creates_a_valid_row(db, label):
    make = FACTORIES.get(label)
    if make is None:
        pytest.fail(f"no factory for {label}")
    row: Any = make()
    assert row.pk is not None
    row.refresh_from_db()
    # A null the database accepts (null=True) is valid even where the form field is not blank=True.
    row.full_clean(exclude=[f.name for f in row._meta.concrete_fields if f.null and f.value_from_object(row) is None])
    assert type(row)._default_manager.filter(pk=row.pk).exists()
