"""kombu's filesystem transport, with messages that appear in the queue only when whole.

kombu creates the message file and then writes it; a consumer listing the folder in
between takes the empty file, fails to decode it and the Celery worker stops with
"Unrecoverable error: JSONDecodeError" (seen under load in the embedded default). Here a
message is written under a name no consumer reads (``.part``) and renamed into the queue,
which is atomic on one filesystem: a consumer sees the whole message or nothing. The
exchange's table of bindings had the same flaw when first created, and is made whole the
same way.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.json import dumps

# For Celery's ``broker_transport`` (the URL stays ``filesystem://``).
TRANSPORT = "worker.broker:Transport"


class Channel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Put a message on ``queue``: written aside, then renamed into the queue."""
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = f"{final}.part"  # not "<queue>.msg": consumers pass it by
        try:
            with open(partial, "wb") as out:
                out.write(dumps(payload).encode())  # type: ignore[no-untyped-call]
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        """Bind ``queue``; the exchange's table file is created whole before any binding.

        kombu creates the table file (truncating it) and only then takes its lock and
        writes it: another process binding or publishing at that moment read an empty or
        half-written table and failed with JSONDecodeError (seen when the API and a worker
        start together). Linking a finished ``[]`` into place is atomic: the file appears
        whole or not at all, and kombu's locked read-modify-write takes it from there."""
        table = self._exchange_file(exchange)  # type: ignore[no-untyped-call]
        self.control_folder.mkdir(exist_ok=True)
        if not table.exists():
            empty = table.with_name(f"{table.name}.{uuid.uuid4().hex}.part")
            empty.write_bytes(b"[]")
            try:
                os.link(empty, table)
            except FileExistsError:  # another process made it first: theirs is whole too
                pass
            finally:
                empty.unlink(missing_ok=True)
        super()._queue_bind(exchange, routing_key, pattern, queue)  # type: ignore[no-untyped-call]


class Transport(filesystem.Transport):
    Channel = Channel
