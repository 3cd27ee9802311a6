"""A PostgreSQL schema of the benchmark's own, and the settings that point the service at
it (``ENVIRONMENT=test``, a fresh ``JWT_SECRET``, ``DATABASE_URL`` with its search path),
dropped afterwards unless it is kept (``--keep NAME``: reuse a generated data set)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def bench_schema(
    database_url: str, prefix: str, keep: str | None = None, **settings: str
) -> Iterator[str]:
    """Create the schema (or reuse ``keep``), set the environment, yield its name."""
    schema = keep or f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(database_url.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    os.environ.update(
        {
            "ENVIRONMENT": "test",
            "JWT_SECRET": f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}",
            "DATABASE_URL": f"{database_url}?options=-csearch_path%3D{schema}",
            **settings,
        }
    )
    try:
        yield schema
    finally:
        if not keep:
            with admin.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
