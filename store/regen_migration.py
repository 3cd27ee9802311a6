"""Regenerate the initial migration from the models (only while it is unreleased).

.venv/bin/python -m store.regen_migration
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config

from store.db import MIGRATIONS


def main() -> None:
    for old in (MIGRATIONS / "versions").glob("0001_*.py"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.set_main_option("sqlalchemy.url", f"sqlite:///{Path(tmp) / 'empty.sqlite3'}")
        command.revision(config, message="initial schema", autogenerate=True, rev_id="0001")


if __name__ == "__main__":
    main()
