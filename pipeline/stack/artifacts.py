"""Resolving the stack's Java artifacts with Maven, once, into a cache shared by every checkout.

The versions live in ``pom.xml`` beside this module (the one place they are pinned). Each component is
unpacked into ``<cache>/<component>-<version>/`` and marked complete only after Maven succeeded, so an
interrupted download is retried rather than half-used.
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from pipeline.errors import ArtifactError, ToolMissingError

__all__ = ["POM", "Artifacts", "pinned_versions", "resolve"]

POM = Path(__file__).with_name("pom.xml")
_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
_COMPLETE = ".complete"


def pinned_versions(pom: Path = POM) -> dict[str, str]:
    """The ``*.version`` properties of the stack's pom (kafka, log4j, apicurio)."""
    root = ET.parse(pom).getroot()
    props = root.find("m:properties", _NS)
    assert props is not None, f"{pom} has no <properties>"
    return {
        child.tag.split("}", 1)[1].removesuffix(".version"): (child.text or "").strip()
        for child in props
        if child.tag.endswith(".version")
    }


@dataclass(frozen=True)
class Artifacts:
    kafka_lib: Path  # a folder of jars: the broker's classpath
    registry_jar: Path  # Apicurio's quarkus-run.jar
    versions: dict[str, str]


def _layout(cache: Path, versions: dict[str, str]) -> Artifacts:
    return Artifacts(
        kafka_lib=cache / f"kafka-{versions['kafka']}",
        registry_jar=cache / f"apicurio-{versions['apicurio']}" / "quarkus-run.jar",
        versions=versions,
    )


def resolve(cache: Path, *, log: Path | None = None, pom: Path = POM) -> Artifacts:
    """Make sure the pinned Kafka jars and Apicurio app are in ``cache``, running Maven if not.

    Raises ToolMissingError when Maven is needed but absent, ArtifactError when it fails.
    """
    versions = pinned_versions(pom)
    artifacts = _layout(cache, versions)
    wanted = {"kafka": artifacts.kafka_lib, "registry": artifacts.registry_jar.parent}
    missing = [execution for execution, folder in wanted.items() if not (folder / _COMPLETE).exists()]
    if not missing:
        return artifacts

    mvn = shutil.which("mvn")
    if mvn is None:
        raise ToolMissingError(
            "Maven (`mvn`) is needed once to download Kafka and Apicurio Registry from Maven Central; "
            "install it (e.g. `apt-get install maven`) and run again"
        )
    for execution in missing:
        shutil.rmtree(wanted[execution], ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    goals = [f"dependency:{'copy-dependencies' if e == 'kafka' else 'unpack'}@{e}" for e in missing]
    argv = [mvn, "-B", "-q", "-f", str(pom), *goals, f"-Dstack.lib={cache}"]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if log is not None:
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(result.stdout + result.stderr, encoding="utf-8")
    if result.returncode != 0:
        errors = [line for line in (result.stdout + result.stderr).splitlines() if "ERROR" in line]
        detail = "\n".join(errors[:6]) or (result.stdout + result.stderr)[-2000:]
        raise ArtifactError(
            f"Maven could not resolve the stack's artifacts (versions {versions}, pom {pom}):\n{detail}"
        )
    for execution in missing:
        (wanted[execution] / _COMPLETE).write_text("ok\n")
    return artifacts
