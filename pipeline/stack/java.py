"""Finding a Java runtime new enough for each component.

Kafka 4 needs Java 17; Apicurio Registry 3.3 is compiled for Java 21. We look, in order, at the home
named for the component (``PIPELINE_KAFKA_JAVA_HOME`` / ``PIPELINE_REGISTRY_JAVA_HOME``), ``JAVA_HOME``,
the ``java`` on ``PATH``, then the JDKs installed side by side under ``/usr/lib/jvm`` (where Debian and
the Temurin packages put them), and take the first that is new enough. Nothing is downloaded.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from pipeline.errors import ToolMissingError

__all__ = ["find_java", "java_version"]

_JVM_DIRS = (Path("/usr/lib/jvm"), Path("/usr/local/lib/jvm"), Path("/opt/java"))


def java_version(java: Path) -> int | None:
    """The feature version (17, 21, 25, ...) of the JDK that ``java`` belongs to, read from its
    ``release`` file; None when it cannot be told."""
    home = java.resolve().parent.parent
    try:
        text = (home / "release").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r'^JAVA_VERSION="(\d+)(?:\.(\d+))?', text, re.MULTILINE)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2)) if major == 1 and match.group(2) else major


def _candidates(homes: tuple[Path | None, ...]) -> list[Path]:
    found: list[Path] = [home / "bin" / "java" for home in homes if home is not None]
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(on_path))
    for jvm_dir in _JVM_DIRS:
        if jvm_dir.is_dir():
            found.extend(sorted(jvm_dir.glob("*/bin/java")))
    return [java for java in found if java.is_file()]


def find_java(component: str, minimum: int, env_var: str, *homes: Path | None) -> Path:
    """A ``java`` executable of at least version ``minimum`` for ``component``, looking first in
    ``homes`` (the one ``env_var`` named, then ``JAVA_HOME``).

    Raises ToolMissingError that says what to install (or which variable to set) when none is found.
    """
    seen: list[str] = []
    for java in _candidates(homes):
        version = java_version(java)
        seen.append(f"{java} ({version or 'unknown version'})")
        if version is not None and version >= minimum:
            return java
    where = "; ".join(seen) if seen else "no Java found"
    raise ToolMissingError(
        f"{component} needs Java {minimum} or newer ({where}). Install a JDK {minimum}+ "
        f"(e.g. `apt-get install openjdk-{max(minimum, 21)}-jdk-headless`) or point {env_var} at one."
    )
