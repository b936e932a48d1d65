"""librdkafka's own log lines: through Python logging (logger ``pipeline.librdkafka``) instead of the
terminal, and the latest trouble kept, so that a "cluster unreachable" sentence can say why (a refused
connection, a failed SASL handshake, a TLS certificate)."""

from __future__ import annotations

import contextlib
import logging
from collections import deque
from typing import Any

from pipeline.config import KAFKA_LOG

__all__ = ["kafka_trouble"]

_TELLING = ("SASL", "Authentication", "authentication", "SSL", "certificate", "Connection refused", "resolve")


class _Recent(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: deque[str] = deque(maxlen=50)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


_RECENT = _Recent()
KAFKA_LOG.addHandler(_RECENT)


def kafka_trouble(client: Any = None) -> str | None:
    """The most telling recent librdkafka complaint (authentication and TLS first), as a sentence part,
    or None. ``client`` (a producer, consumer or admin client) is polled first: librdkafka hands its log
    lines over only when polled."""
    if client is not None:
        with contextlib.suppress(Exception):
            client.poll(0)
    lines = list(_RECENT.lines)
    for line in reversed(lines):
        if any(word in line for word in _TELLING):
            return _plain(line)
    return _plain(lines[-1]) if lines else None


def _plain(line: str) -> str:
    # "[thrd:sasl_plaintext://h:9092/bootstrap]: sasl_plaintext://h:9092/bootstrap: SASL ..." -> the end
    return line.rsplit("]: ", 1)[-1].strip()
