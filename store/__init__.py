"""The database layer shared by the API and the worker: settings, tables, sessions.

One place, used by both entry points: :mod:`runtime.settings` (configuration from the
environment), :mod:`store.models` (SQLModel tables), :mod:`store.db` (engine and
sessions, SQLite by default, PostgreSQL when ``DATABASE_URL`` says so) and the Alembic
migrations in ``store/migrations``.
"""
