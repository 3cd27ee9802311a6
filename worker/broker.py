"""kombu's filesystem transport, with messages that appear in the queue only when whole.

kombu creates the message file and then writes it; a consumer listing the folder in
between takes the empty file, fails to decode it and the Celery worker stops with
"Unrecoverable error: JSONDecodeError" (seen under load in the embedded default). Here a
message is written under a name no consumer reads (``.part``) and renamed into the queue,
which is atomic on one filesystem: a consumer sees the whole message or nothing.
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


class Transport(filesystem.Transport):
    Channel = Channel
