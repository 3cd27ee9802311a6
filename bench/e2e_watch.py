"""The moment each upload reaches the worklist, as bench/e2e.py measures it: a thread with
its own database session asks, every ``interval`` seconds, which of the uploads it waits
for have had their judging job committed (``outbox.done_at`` is set in the transaction
that stores the results and updates the worklist), and notes the wall-clock time it saw
them. The resolution is the interval (20 ms) plus the query; the session's own CPU is left
out of PostgreSQL's figure (its backend pid is known)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import psycopg


class Watch:
    def __init__(self, database_url: str, schema: str, interval: float = 0.02) -> None:
        self.conn = psycopg.connect(database_url, autocommit=True)
        self.conn.execute(f'SET search_path TO "{schema}"')
        row = self.conn.execute("SELECT pg_backend_pid()").fetchone()
        self.backend_pid = int(row[0]) if row else 0
        self.interval = interval
        self.waiting: set[str] = set()
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def expect(self, ids: Iterable[str]) -> None:
        with self.lock:
            self.waiting.update(ids)

    def pending(self) -> int:
        with self.lock:
            return len(self.waiting)

    def backlog(self) -> int:
        """Jobs not yet done in the whole outbox (not only the ones watched)."""
        with self.lock:
            row = self.conn.execute("SELECT count(*) FROM outbox WHERE done_at IS NULL").fetchone()
        return int(row[0]) if row else 0

    def _run(self) -> None:
        while not self.stopping.is_set():
            started = time.monotonic()
            with self.lock:
                ids = list(self.waiting)
            for k in range(0, len(ids), 5000):
                chunk = ids[k : k + 5000]
                with self.lock:
                    rows = self.conn.execute(
                        "SELECT r.id FROM resource r JOIN outbox o ON o.id = r.outbox_id "
                        "WHERE r.id = ANY(%s) AND o.done_at IS NOT NULL",
                        (chunk,),
                    ).fetchall()
                now = time.time()
                with self.lock:
                    for (rid,) in rows:
                        self.waiting.discard(rid)
                        self.seen.setdefault(rid, now)
            # past saturation thousands wait: ask less often rather than load the database
            pause = max(self.interval, len(ids) / 100_000) - (time.monotonic() - started)
            if pause > 0:
                self.stopping.wait(pause)

    def wait_all(self, limit: float) -> bool:
        """Until nothing watched is waiting, at most ``limit`` seconds; True if all came."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if self.pending() == 0:
                return True
            time.sleep(0.05)
        return self.pending() == 0

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.conn.close()
