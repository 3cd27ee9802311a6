"""The fault suite's own servers: a Redis and a PostgreSQL cluster on free ports in a temporary
folder, and the service's processes (uvicorn API, Celery workers, Celery beat) against them.

The machine's own PostgreSQL and Redis are never touched: these are stopped, killed and
restarted at will. Everything here has a deadline and fails with what to install or what
the log said; nothing is skipped.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import ROOT, TEST_SECRET

START_SECONDS = 60.0


class StackError(RuntimeError):
    """A server or process of the fault suite could not be started or stopped."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], timeout: float, what: str, log: Path | None = None) -> Any:
    """Poll ``check`` until it returns something truthy; raise after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            tail = f"\n--- {log} ---\n{tail_of(log)}" if log is not None else ""
            raise StackError(f"waited {timeout:.0f} s for {what}{tail}")
        time.sleep(0.2)


def tail_of(log: Path | None, size: int = 3000) -> str:
    if log is None or not log.exists():
        return "(no log)"
    return log.read_bytes()[-size:].decode("utf-8", "replace")


def signal_tree(pid: int, signum: int) -> None:
    """Signal a process and its children (a Celery worker and its pool processes)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(child), signum)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def kill_tree(pid: int) -> None:
    """SIGKILL a process and its children: no chance to finish, acknowledge or roll back."""
    signal_tree(pid, signal.SIGKILL)


def stop(proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.wait(timeout=10)


def _spawn(command: list[str], log: Path, env: dict[str, str] | None = None) -> Any:
    with log.open("ab") as out:  # the child keeps its own descriptor
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


@dataclass
class RedisServer:
    """``redis-server`` as a child process: stopped and started again on the same port."""

    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def log(self) -> Path:
        return self.folder / "redis.log"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise StackError(
                "redis-server is not installed; the fault suite starts its own: "
                "apt-get install redis-server"
            )
        self.proc = _spawn(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory-policy",
                "noeviction",
                "--dir",
                str(self.folder),
            ],
            self.log,
        )
        import redis

        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)
        try:
            wait_until(client.ping, START_SECONDS, "redis-server to answer PING", self.log)
        finally:
            client.close()

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


@dataclass
class PostgresCluster:
    """A PostgreSQL cluster of its own (initdb + pg_ctl), run as ``postgres`` when we are root."""

    folder: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.folder / "pgdata"

    @property
    def log(self) -> Path:
        return self.folder / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _bin(self, name: str) -> str:
        found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
        path = found[-1] if found else shutil.which(name)
        if path is None:
            raise StackError(
                f"PostgreSQL's {name} is not installed; the fault suite runs its own cluster: "
                "apt-get install postgresql"
            )
        return path

    def _run(self, *args: str, timeout: float = START_SECONDS) -> None:
        command = list(args)
        if os.getuid() == 0:  # PostgreSQL refuses to run as root
            runuser = shutil.which("runuser") or shutil.which("runuser", path="/usr/sbin:/sbin")
            if runuser is None:
                raise StackError("runuser is not installed (as root): apt-get install util-linux")
            command = [runuser, "-u", "postgres", "--", *command]
        # Output to a file, never a pipe: the server pg_ctl starts would hold a pipe open.
        out = self.folder / "pg_ctl.out"
        with out.open("wb") as sink:
            code = subprocess.run(
                command, stdout=sink, stderr=subprocess.STDOUT, timeout=timeout, check=False
            ).returncode
        if code != 0:
            raise StackError(f"{' '.join(args[:2])} failed ({code}): {tail_of(out, 2000)}")

    def start(self) -> None:
        if os.getuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(
            self._bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        )
        self._pg_ctl("start", "-o", self._options(), "-l", str(self.log))

    def _options(self) -> str:
        return (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c fsync=off "
            f"-c unix_socket_directories={self.folder} -c max_connections=200"
        )

    def _pg_ctl(self, action: str, *extra: str) -> None:
        self._run(self._bin("pg_ctl"), action, "-D", str(self.data), "-w", "-t", "60", *extra)

    def down_until(self, back: Callable[[], bool], timeout: float) -> float:
        """Stop fast (connections cut, transactions in flight roll back), stay down until
        ``back()`` is true or ``timeout`` passes, start again; the seconds it was down."""
        self._pg_ctl("stop", "-m", "fast")
        went = time.monotonic()
        deadline = went + timeout
        while not back() and time.monotonic() < deadline:
            time.sleep(0.05)
        down = time.monotonic() - went
        self._pg_ctl("start", "-o", self._options(), "-l", str(self.log))
        return down

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate")


@dataclass
class Stack:
    """The service on its own Redis and PostgreSQL: one API, workers and beat."""

    folder: Path
    redis: RedisServer
    postgres: PostgresCluster
    api_port: int = field(default_factory=free_port)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def create(cls) -> Stack:
        folder = Path(tempfile.mkdtemp(prefix="triage-faults-"))
        os.chmod(folder, 0o755)  # the postgres user reaches its own subfolder
        pg_folder = folder / "pg"
        pg_folder.mkdir()
        return cls(folder, RedisServer(folder), PostgresCluster(pg_folder))

    @property
    def env(self) -> dict[str, str]:
        return {
            "ENVIRONMENT": "test",
            "JWT_SECRET": TEST_SECRET,
            "DATABASE_URL": self.postgres.url,
            "REDIS_URL": self.redis.url,
            "TRIAGE_RETRY_BASE_SECONDS": "0.05",
            "OUTBOX_RESEND_SECONDS": "1",
            # A row handed over 15 s ago and not done is sent again (worker killed, Redis
            # restarted empty); production waits 10 minutes.
            "OUTBOX_STALE_SECONDS": "15",
            # Setting up patients is not the fault under test; patients keep the default limit.
            "RATE_LIMIT_STAFF_PER_MINUTE": "0",
            "PYTHONUNBUFFERED": "1",
        }

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def _child_env(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env.pop("TRIAGE_TEST_PAUSE_SECONDS", None)
        return {**env, **(extra or {})}

    def start_api(self) -> None:
        log = self.folder / "api.log"
        command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
        command += ["--host", "127.0.0.1", "--port", str(self.api_port), "--log-level", "warning"]
        self.procs["api"] = _spawn(command, log, self._child_env())
        self.logs["api"] = log

        def ready() -> bool:
            if self.procs["api"].poll() is not None:
                raise StackError(f"the API exited:\n{tail_of(log)}")
            return httpx.get(f"{self.api_url}/fhir/metadata", timeout=2).status_code == 200

        try:
            wait_until(ready, START_SECONDS, "the API to answer /fhir/metadata", log)
        except StackError as exc:
            raise StackError(f"{exc}\n{tail_of(log)}") from None

    def start_worker(self, name: str, extra_env: dict[str, str] | None = None) -> int:
        """A real Celery worker process (one pool process); returns its pid once ready."""
        log = self.folder / f"{name}.log"
        command = [sys.executable, "-m", "celery", "-A", "worker.app", "worker"]
        command += ["--loglevel=INFO", "--concurrency=1", "--without-gossip"]
        command += ["--without-mingle", "--without-heartbeat"]
        command += ["-n", f"{name}-{uuid.uuid4().hex[:6]}@%h"]
        proc = _spawn(command, log, self._child_env(extra_env))
        self.procs[name] = proc
        self.logs[name] = log

        def ready() -> bool:
            if proc.poll() is not None:
                raise StackError(f"worker {name} exited:\n{tail_of(log)}")
            return b"ready." in log.read_bytes()

        wait_until(ready, START_SECONDS, f"worker {name} to be ready", log)
        return proc.pid

    def start_beat(self) -> None:
        log = self.folder / "beat.log"
        command = [sys.executable, "-m", "celery", "-A", "worker.app", "beat", "--loglevel=INFO"]
        command += ["-s", str(self.folder / "beat-schedule")]
        self.procs["beat"] = _spawn(command, log, self._child_env())
        self.logs["beat"] = log
        wait_until(
            lambda: b"Sending due task" in log.read_bytes(), START_SECONDS, "beat's first task", log
        )

    def kill(self, name: str) -> None:
        proc = self.procs.pop(name)
        kill_tree(proc.pid)
        proc.wait(timeout=10)

    def freeze(self, name: str) -> None:
        """SIGSTOP a worker: it takes no more work (what its socket already holds stays)."""
        signal_tree(self.procs[name].pid, signal.SIGSTOP)

    def thaw(self, name: str) -> None:
        signal_tree(self.procs[name].pid, signal.SIGCONT)

    def exited(self) -> list[str]:
        """Names of the processes that exited on their own (none should)."""
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def close(self, keep_logs: Path | None = None) -> None:
        """Stop everything and remove the folder; ``keep_logs``: copy the logs there first."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                kill_tree(proc.pid)
                proc.wait(timeout=10)
        self.procs.clear()
        for server in (self.redis, self.postgres):
            with contextlib.suppress(Exception):  # clean up the rest whatever happened
                server.stop()
        if keep_logs is not None:
            keep_logs.mkdir(parents=True, exist_ok=True)
            for log in [*self.folder.glob("*.log"), self.postgres.log]:
                if log.exists():
                    shutil.copy(log, keep_logs / log.name)
        shutil.rmtree(self.folder, ignore_errors=True)
