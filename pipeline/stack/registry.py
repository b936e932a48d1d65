"""Apicurio Registry serving the Confluent-compatible API, with its storage in an H2 file database so
schemas survive a restart."""

from __future__ import annotations

from pathlib import Path

__all__ = ["CCOMPAT_PATH", "registry_argv"]

CCOMPAT_PATH = "/apis/ccompat/v7"


def registry_argv(java: Path, jar: Path, port: int, data_dir: Path, marker: str, heap_mb: int) -> list[str]:
    settings = {
        "quarkus.http.host": "127.0.0.1",
        "quarkus.http.port": str(port),
        # Quarkus opens a management interface on 0.0.0.0:9000 by default; keep it local and out of the way.
        "quarkus.management.host": "127.0.0.1",
        "quarkus.management.port": "0",
        "apicurio.storage.kind": "sql",
        "apicurio.storage.sql.kind": "h2",
        # WRITE_DELAY=0: H2 writes each commit before it answers; its default (500 ms) let a kill -9 lose
        # acknowledged registrations and hand their ids to other schemas after the restart.
        "apicurio.datasource.url": f"jdbc:h2:file:{data_dir / 'registry'};WRITE_DELAY=0",
        "apicurio.datasource.username": "sa",
        "apicurio.datasource.password": "sa",
        # Confluent Schema Registry's default; Apicurio's own is NONE.
        "apicurio.rules.global.compatibility": "BACKWARD",
    }
    return [
        str(java),
        f"-Xmx{heap_mb}m",
        "-XX:TieredStopAtLevel=1",
        "-Djava.awt.headless=true",
        *(f"-D{key}={value}" for key, value in settings.items()),
        marker,
        "-jar",
        str(jar),
    ]
