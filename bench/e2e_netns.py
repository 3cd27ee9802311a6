"""The API and the worker on hosts of their own, on this one machine (bench/e2e.py
``--netns``): two network namespaces joined to this one by veth pairs, so every packet
between the API, the worker, PostgreSQL and Redis crosses a network interface, as between
hosts. PostgreSQL and Redis listen on 127.0.0.1 only, so socat forwards their ports from
each link's address on this side (their CPU is reported). Needs root, iproute2 and socat;
everything is removed afterwards."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

LINKS = {"api": ("e2e-api", "10.201.1"), "worker": ("e2e-wrk", "10.201.2")}


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


def _moved(url: str, host: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    where = f"{host}:{parts.port}" if parts.port else host
    netloc[-1] = where
    return urlunsplit(parts._replace(netloc="@".join(netloc)))


@contextlib.contextmanager
def separate_hosts(
    database_url: str, redis_url: str
) -> Iterator[tuple[dict[str, tuple[list[str], dict[str, str]]], str, list[int]]]:
    """Yield (where each process runs, the API's address, the forwarders' pids)."""
    if shutil.which("socat") is None:
        raise SystemExit("--netns needs socat (apt-get install socat)")
    ports = [urlsplit(database_url).port or 5432, urlsplit(redis_url).port or 6379]
    forwarders: list[subprocess.Popen[bytes]] = []
    places: dict[str, tuple[list[str], dict[str, str]]] = {}
    try:
        for name, (ns, net) in LINKS.items():
            here, there = f"{ns}-h", f"{ns}-n"
            _ip("netns", "add", ns)
            _ip("link", "add", here, "type", "veth", "peer", "name", there)
            _ip("link", "set", there, "netns", ns)
            _ip("addr", "add", f"{net}.1/24", "dev", here)
            _ip("link", "set", here, "up")
            _ip("-n", ns, "addr", "add", f"{net}.2/24", "dev", there)
            _ip("-n", ns, "link", "set", there, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            for port in ports:
                forwarders.append(
                    subprocess.Popen(
                        [
                            "socat",
                            f"TCP-LISTEN:{port},bind={net}.1,fork,reuseaddr",
                            f"TCP:127.0.0.1:{port}",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
            env = {
                "DATABASE_URL": _moved(database_url, f"{net}.1"),
                "REDIS_URL": _moved(redis_url, f"{net}.1"),
            }
            places[name] = (["ip", "netns", "exec", ns], env)
        yield places, f"{LINKS['api'][1]}.2", [f.pid for f in forwarders]
    finally:
        for forwarder in forwarders:
            forwarder.terminate()
        for ns, _ in LINKS.values():
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)
            subprocess.run(["ip", "link", "del", f"{ns}-h"], capture_output=True)
