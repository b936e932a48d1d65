"""An independent Avro oracle for the tests: Apache Avro's Java library, driven from Python.

Our generative tests compare our own codec's bytes and decoded values with those of Avro Java, the
implementation Confluent's serializers build on. ``AvroOracle.java`` (beside this module) is one Java source
file run by the JDK's single-file source launcher, with no build step, on the classpath of jars that
``ensure_oracle_jars`` resolves with Maven once. The Avro version is pinned once, in ``pom.xml`` beside this
module; the jars go to ``<cache>/oracle/avro-<version>/``, where ``<cache>`` is ``$PIPELINE_CACHE_DIR``, else
``$XDG_CACHE_HOME/avro-pipeline``, else ``~/.cache/avro-pipeline``. The folder is marked complete only
after Maven succeeded, so an interrupted download is retried rather than half-used.

::

    with JavaAvro() as avro:
        data = avro.encode('"long"', 1)                   # b"\\x02"
        datum, trailing = avro.decode('"long"', data)      # (1, 0)

Datums travel as *oracle JSON*, directed by the schema node at each position, the same both ways:

=====================================  ==============================================================
schema node                            oracle JSON
=====================================  ==============================================================
null, boolean                          ``None``, ``True`` / ``False``
int, long                              an ``int`` (in range)
float                                  ``{"float_bits": <unsigned 32-bit int, the raw IEEE bits>}``
double                                 ``{"double_bits": "<unsigned 64-bit int as a decimal str>"}``
string                                 a ``str`` (a lone surrogate is allowed: see below)
bytes, fixed                           ``{"base64": "<str>"}`` (a fixed must have exactly its size)
enum                                   the symbol
array, map                             a ``list``, a ``dict``
record                                 a ``dict`` of every field by name, and no other key
union                                  ``{"branch": <0-based index in that union>, "value": <that
                                       branch's oracle JSON>}``
decimal, big-decimal                   ``{"unscaled": "<int as a decimal str>", "scale": <int>}``
uuid (string, fixed 16)                the canonical ``str`` of the UUID
date                                   ``{"epoch_day": <int>}``
time-millis, time-micros               ``{"nano_of_day": <int>}``
timestamp-millis, -micros, -nanos      ``{"epoch_second": <int>, "nano": <int>}`` (an Instant)
local-timestamp-millis, -micros,       ``{"local_epoch_second": <int>, "nano": <int>}`` (a LocalDateTime
-nanos                                 read at UTC)
duration (fixed 12)                    ``{"months": <int>, "days": <int>, "millis": <int>}``
=====================================  ==============================================================

A logical type applies only where Avro Java recognises it on that node (an invalid one, e.g. a decimal
whose precision does not fit its fixed, is ignored by Avro and the underlying form is used). On encode a
union's value is built so that ``GenericData.resolveUnion`` picks the requested branch, and a request it
cannot honour (e.g. the second of two decimal branches: Java picks the first for any BigDecimal) is an
error; on decode the branch is ``GenericData.resolveUnion(reader union, decoded value)``.

Encoding is ``GenericDatumWriter`` with a direct ``BinaryEncoder``; decoding is
``GenericDatumReader(writer, reader)``, Avro's schema resolution, over a ``BinaryDecoder`` on the bytes,
reporting how many bytes were left unread. Both use a ``GenericData`` with every conversion Avro 1.12 ships.
Schema texts named in ``references`` are parsed first, in order, by the same ``Schema.Parser`` (default
validation of names and defaults), so the schema can name their types.

The Java process is started once per ``JavaAvro`` and reused; requests are serialised by a lock. If it dies
or does not answer within the timeout, the request raises :class:`OracleError` and the process is discarded
(the next request starts a new one).
"""

from __future__ import annotations

import base64
import collections
import contextlib
import fcntl
import json
import os
import queue
import re
import shutil
import subprocess
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

__all__ = [
    "POM",
    "SOURCE",
    "JavaAvro",
    "OracleError",
    "avro_version",
    "default_cache_dir",
    "ensure_oracle_jars",
]

POM = Path(__file__).with_name("pom.xml")
SOURCE = Path(__file__).with_name("AvroOracle.java")
_NS = {"m": "http://maven.apache.org/POM/4.0.0"}
_COMPLETE = ".complete"
_STDERR_LINES = 20
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# C1 only and the serial collector: the process starts in ~1.2 s instead of ~2 s (the launcher compiles
# the source first), and on a small machine small requests are no slower than with C2 competing for cores.
_JVM_FLAGS = ("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Dslf4j.internal.verbosity=ERROR")


class OracleError(Exception):
    """Avro Java refused a request (its ``<ExceptionClass>: <message>`` is the message), or the oracle
    process died or did not answer in time (the message carries the last lines of its stderr)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def avro_version(pom: Path = POM) -> str:
    """The Avro version pinned in the oracle's pom (``<avro.version>``)."""
    root = ET.parse(pom).getroot()
    version = root.findtext("m:properties/m:avro.version", namespaces=_NS)
    assert version, f"{pom} has no <avro.version> property"
    return version.strip()


def default_cache_dir() -> Path:
    """``<cache>/oracle``, ``<cache>`` chosen as the embedded stack chooses its own."""
    base = os.environ.get("PIPELINE_CACHE_DIR")
    if base:
        return Path(base) / "oracle"
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "avro-pipeline" / "oracle"


def ensure_oracle_jars(cache: Path | None = None, *, pom: Path = POM) -> Path:
    """The folder of jars (Avro and its runtime dependencies) the oracle runs on, resolving it with Maven
    the first time. Safe to call from several processes at once (a file lock serialises Maven).

    Raises RuntimeError when ``java`` or ``mvn`` is missing, or Maven fails (with Maven's ERROR lines).
    """
    if shutil.which("java") is None:
        raise RuntimeError("the Avro oracle needs a Java 11+ runtime: no `java` on PATH")
    cache = cache or default_cache_dir()
    version = avro_version(pom)
    lib = cache / f"avro-{version}"
    if (lib / _COMPLETE).exists():
        return lib
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (lib / _COMPLETE).exists():
            _run_maven(pom, lib, version)
    return lib


def _run_maven(pom: Path, lib: Path, version: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError(
            f"Maven (`mvn`) is needed once to download Apache Avro {version} for the test oracle from "
            "Maven Central; install it (e.g. `apt-get install maven`) and run again"
        )
    shutil.rmtree(lib, ignore_errors=True)
    argv = [mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(pom), "dependency:copy-dependencies@avro"]
    result = subprocess.run([*argv, f"-Doracle.lib={lib}"], capture_output=True, text=True, check=False)
    output = _ANSI.sub("", result.stdout + result.stderr)
    if result.returncode != 0:
        lines = output.splitlines()
        boilerplate = next((i for i, line in enumerate(lines) if "To see the full stack trace" in line), None)
        errors = [line for line in lines[:boilerplate] if "ERROR" in line and line.strip() != "[ERROR]"]
        detail = "\n".join(errors[:6]) or output[-2000:]
        raise RuntimeError(f"Maven could not resolve Apache Avro {version} (pom {pom}) into {lib}:\n{detail}")
    (lib / _COMPLETE).write_text("ok\n")


class JavaAvro:
    """A client of one Avro Java oracle process (see the module docstring for the protocol).

    ``start()`` is optional: the first request starts the process. Every method raises OracleError when
    Avro Java refuses the request, or when the process dies or does not answer within ``timeout`` seconds.
    """

    def __init__(self, lib: Path | None = None, *, timeout: float = 60.0) -> None:
        self._lib = lib
        self.timeout = timeout
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._responses: queue.Queue[bytes | None] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=_STDERR_LINES)

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> JavaAvro:
        """Start the Java process (resolving the jars first if needed) and wait until it answers.

        Raises RuntimeError when the jars cannot be resolved, OracleError when the process does not come up.
        """
        with self._lock:
            self._start_locked()
        return self

    def close(self) -> None:
        """Stop the Java process (closing its stdin ends its loop), killing it if it does not exit."""
        with self._lock:
            self._stop_locked()

    def __enter__(self) -> JavaAvro:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    @property
    def pid(self) -> int | None:
        """The Java process's id while it runs."""
        return self._process.pid if self._process is not None else None

    def _start_locked(self) -> None:
        if self._process is not None and self._process.poll() is None:
            return
        lib = self._lib or ensure_oracle_jars()
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("the Avro oracle needs a Java 11+ runtime: no `java` on PATH")
        argv = [java, *_JVM_FLAGS, "-cp", f"{lib}/*", str(SOURCE)]
        self._responses = queue.Queue()
        self._stderr = collections.deque(maxlen=_STDERR_LINES)
        process = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert process.stdout is not None and process.stderr is not None
        self._process = process
        threading.Thread(target=_pump_lines, args=(process.stdout, self._responses), daemon=True).start()
        threading.Thread(target=_pump_stderr, args=(process.stderr, self._stderr), daemon=True).start()
        # One trivial request: compiling the source takes a second or two, and a failure shows here.
        self._exchange_locked({"op": "parse", "schema": '"null"'})

    def _stop_locked(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    # -- requests -----------------------------------------------------------------------------------

    def request(self, payload: dict[str, Any]) -> dict[str, Any]:
        """Send one request and return the successful response; raise OracleError with Java's error."""
        with self._lock:
            self._start_locked()
            response = self._exchange_locked(payload)
        if not response.get("ok"):
            raise OracleError(str(response.get("error")))
        return response

    def _exchange_locked(self, payload: dict[str, Any]) -> dict[str, Any]:
        process = self._process
        assert process is not None and process.stdin is not None
        try:
            process.stdin.write(json.dumps(payload, allow_nan=False).encode("ascii") + b"\n")
            process.stdin.flush()
        except OSError as exc:
            raise self._failed("the oracle process stopped reading its requests") from exc
        try:
            line = self._responses.get(timeout=self.timeout)
        except queue.Empty:
            raise self._failed(f"no response within {self.timeout:g} s") from None
        if line is None:
            raise self._failed("the oracle process exited")
        return dict(json.loads(line))

    def _failed(self, what: str) -> OracleError:
        process = self._process
        self._process = None
        code = None
        if process is not None:
            process.kill()
            code = process.wait()
        stderr = "\n".join(self._stderr) or "(nothing)"
        return OracleError(f"{what} (exit code {code}); its last stderr lines:\n{stderr}")

    def encode(self, schema_text: str, datum: Any, references: Iterable[str] = ()) -> bytes:
        """The Avro binary encoding of ``datum`` (oracle JSON) under ``schema_text``, by Avro Java."""
        response = self.request(
            {"op": "encode", "schema": schema_text, "references": list(references), "datum": datum}
        )
        return base64.b64decode(response["bytes"])

    def decode(
        self,
        writer_text: str,
        data: bytes,
        reader_text: str | None = None,
        writer_references: Iterable[str] = (),
        reader_references: Iterable[str] = (),
    ) -> tuple[Any, int]:
        """Decode ``data`` written with ``writer_text`` as ``reader_text`` (default: the writer) reads it:
        the datum in oracle JSON, shaped by the reader schema, and the number of bytes left unread."""
        payload: dict[str, Any] = {
            "op": "decode",
            "writer": writer_text,
            "writer_references": list(writer_references),
            "bytes": base64.b64encode(data).decode("ascii"),
        }
        if reader_text is not None:
            payload["reader"] = reader_text
            payload["reader_references"] = list(reader_references)
        response = self.request(payload)
        return response["datum"], int(response["trailing"])

    def parse(self, schema_text: str, references: Iterable[str] = ()) -> str:
        """The Parsing Canonical Form of ``schema_text``; OracleError when Avro Java rejects the schema."""
        return str(self._parse(schema_text, references)["canonical"])

    def fingerprint(self, schema_text: str, references: Iterable[str] = ()) -> int:
        """The schema's 64-bit Rabin fingerprint of its canonical form (signed, as Java's long)."""
        return int(self._parse(schema_text, references)["fingerprint"])

    def _parse(self, schema_text: str, references: Iterable[str]) -> dict[str, Any]:
        return self.request({"op": "parse", "schema": schema_text, "references": list(references)})

    def compatible(
        self,
        reader: str,
        writer: str,
        reader_references: Iterable[str] = (),
        writer_references: Iterable[str] = (),
    ) -> tuple[bool, list[dict[str, str]]]:
        """Whether ``reader`` can read what ``writer`` wrote, by Avro Java's SchemaCompatibility, with its
        incompatibilities (each a dict of ``type``, ``location`` and ``message``)."""
        response = self.request(
            {
                "op": "compatible",
                "reader": reader,
                "reader_references": list(reader_references),
                "writer": writer,
                "writer_references": list(writer_references),
            }
        )
        return bool(response["compatible"]), list(response["incompatibilities"])


def _pump_lines(stream: IO[bytes], sink: queue.Queue[bytes | None]) -> None:
    for line in _lines(stream):
        sink.put(line)
    sink.put(None)


def _pump_stderr(stream: IO[bytes], sink: collections.deque[str]) -> None:
    for line in _lines(stream):
        sink.append(line.decode("utf-8", "replace").rstrip())


def _lines(stream: IO[bytes]) -> Iterator[bytes]:
    with contextlib.suppress(OSError, ValueError):
        yield from iter(stream.readline, b"")
