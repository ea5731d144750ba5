"""A moto server on 127.0.0.1, for tests that reach AWS APIs over HTTP as the tools do."""

from __future__ import annotations

import socket
from contextlib import contextmanager
from typing import Iterator

from moto.server import ThreadedMotoServer

from tools.emulator import LOOPBACK


def free_port() -> int:
    """A loopback port nothing listens on (the OS picked it, and it is closed again)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@contextmanager
def running_moto_server() -> Iterator[str]:
    """Start moto on a free loopback port; yield its endpoint URL; stop it."""
    port = free_port()
    server = ThreadedMotoServer(ip_address=LOOPBACK, port=port, verbose=False)
    server.start()
    try:
        yield f"http://{LOOPBACK}:{port}"
    finally:
        server.stop()
