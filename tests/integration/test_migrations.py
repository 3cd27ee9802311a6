"""The Alembic migrations build exactly the tables the models describe, on both databases:
a column, index or constraint added to a model without a migration (or the other way
round) fails here, not on a hospital's database."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlmodel import SQLModel

import store.facts
import store.models
import store.notifications
import store.tasks
import store.trials  # noqa: F401
from store.db import get_engine
from tests.conftest import Service


def test_the_migrated_schema_is_the_models_schema(service: Service) -> None:
    with get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == [], differences
