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
TRANSPORT = "messaging.broker:Transport"


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

    def queue_bind(
        self,
        queue: str,
        exchange: str | None = None,
        routing_key: str = "",
        arguments: Any = None,
        **kwargs: Any,
    ) -> None:
        """Bind ``queue``: the binding is in the exchange's table file BEFORE this process
        records it. kombu records it first (its state is shared by every connection of the
        process), so a publisher in the same process could look the table up in between,
        find no queue there and route its message nowhere."""
        exchange = exchange or "amq.direct"
        if not self.state.has_binding(queue, exchange, routing_key):
            kind = self.typeof(exchange)  # type: ignore[no-untyped-call]
            meta = kind.prepare_bind(queue, exchange, routing_key, arguments)
            self._queue_bind(exchange, *meta)
        super().queue_bind(queue, exchange, routing_key, arguments, **kwargs)  # type: ignore[no-untyped-call]

    def _queue_bind(self, exchange: str, routing_key: str, pattern: str, queue: str) -> None:
        """Bind ``queue``; an exchange's table file appears whole, with this binding in it.

        kombu created the table file (empty) and only then locked and wrote it: a process
        binding or publishing at that moment read nothing and failed with JSONDecodeError
        (seen when the API and a worker started together). Here the first binding writes
        the whole table aside and links it into place, which is atomic: the file appears
        with its binding or not at all (an empty table in between would route a message
        nowhere). When another process made it first, kombu's locked read-modify-write of
        the existing file adds this binding."""
        table = self._exchange_file(exchange)  # type: ignore[no-untyped-call]
        self.control_folder.mkdir(exist_ok=True)
        if not table.exists():
            whole = table.with_name(f"{table.name}.{uuid.uuid4().hex}.part")
            binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
            whole.write_bytes(dumps([binding]).encode())  # type: ignore[no-untyped-call]
            try:
                os.link(whole, table)
                return
            except FileExistsError:  # another process made it first; add ours to theirs
                pass
            finally:
                whole.unlink(missing_ok=True)
        super()._queue_bind(exchange, routing_key, pattern, queue)  # type: ignore[no-untyped-call]


class Transport(filesystem.Transport):
    Channel = Channel
