"""``triage run`` (the README's run command) as a subprocess, for the tests that drive the
whole service the way a newcomer starts it: its output collected line by line, the end of
each child's log at hand when something goes wrong, and a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

TRIAGE = Path(sys.executable).parent / "triage"


class Run:
    """``triage run --logs FOLDER/log`` with ``env``, started in ``folder``; without the
    twelve months of demo history unless ``history`` (the tests keep their own state, and
    their speed)."""

    def __init__(self, env: dict[str, str], folder: Path, history: bool = False) -> None:
        self.lines: list[str] = []
        self.logs = folder / "log"
        extra = [] if history else ["--no-history"]
        self.proc = subprocess.Popen(
            [str(TRIAGE), "run", "--logs", str(self.logs), *extra],
            cwd=folder,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, prefix: str, seconds: float) -> str:
        """The first line printed that starts with ``prefix``; fails with the output and
        the children's logs when none comes within ``seconds`` or the run ends."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if line.startswith(prefix):
                    return line
            if self.proc.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(
            f"triage run printed no line {prefix!r}; its output:\n"
            + "\n".join(self.lines[-40:])
            + self.tails()
        )

    def tails(self) -> str:
        """The end of each child's log, so a failure in CI says what happened."""
        out = []
        for log in sorted(self.logs.glob("*.log")):
            lines = log.read_text(errors="replace").splitlines()[-25:]
            out.append(f"\n--- {log.name}:\n" + "\n".join(lines))
        return "".join(out)

    def close(self) -> None:
        """After the process ended: the reader and the pipe."""
        self.reader.join(timeout=10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()

    def stop(self) -> None:
        """SIGTERM, as Ctrl-C would; killed if it has not ended within 90 s."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.close()
