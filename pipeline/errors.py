"""The project's one error tree.

Every error the package raises on purpose derives from :class:`PipelineError`; third-party errors are
converted at the boundary with ``raise ... from exc``. Messages name the file, subject, topic or field
concerned and say what was expected.

    PipelineError
    ├── ConfigError                 bad or missing settings (environment, config file, catalog keys)
    ├── StackError                  the embedded Kafka/registry stack could not be prepared or run
    │   ├── ToolMissingError        Java or Maven is not installed (says what to install)
    │   ├── PortInUseError          a port the stack needs is held by another process
    │   ├── ArtifactError           Maven could not resolve an artifact
    │   └── ComponentFailedError    a component died or never became ready (carries its log tail)
    ├── SchemaError                 a schema file or catalog entry is wrong
    │   ├── SchemaLoadError         unreadable / unparsable file
    │   ├── SchemaValidationError   the catalog or its .avsc files fail validation (carries every diagnostic)
    │   └── IncompatibleSchemaError an evolution breaks the subject's compatibility level (carries the report)
    ├── RegistryError               the Schema Registry answered with an error (HTTP status, registry code)
    │   └── RegistryUnavailableError  it could not be reached at all
    ├── ClusterUnavailableError     the Kafka cluster could not be reached or did not answer in time
    ├── DeliveryError               messages were not delivered (carries the producer's counts)
    ├── HistoryError                the schemas' git history cannot be read (no repository, shallow
    │                               clone, unknown revision, git failed)
    └── SchemaViolationError        a record or message does not fit its schema (topic, partition, offset,
        │                           field path, cause); what the dead-letter queue records
        ├── InvalidRecordError      a record to produce does not fit its schema (producer side)
        │   └── UnsendableRecordError   it fits, but no Kafka message can carry it (size, headers)
        ├── WireFormatError         the bytes are not in Confluent's wire format
        ├── UnknownSchemaError      the message names a schema id the registry does not know
        ├── SchemaMismatchError     the writer's schema cannot be read as the reader's
        ├── CorruptPayloadError     the Avro body cannot be read with its writer schema
        ├── UnrepresentableValueError  valid Avro that a Python value cannot hold (a timestamp
        │                           outside years 1-9999, a uuid that is not one)
        ├── NestingLimitError       a value nested deeper than the codec's limit
        └── KeyDecodeError          a message key that will not decode
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = [
    "ArtifactError",
    "ClusterUnavailableError",
    "ComponentFailedError",
    "ConfigError",
    "CorruptPayloadError",
    "DeliveryError",
    "HistoryError",
    "IncompatibleSchemaError",
    "InvalidRecordError",
    "KeyDecodeError",
    "NestingLimitError",
    "PipelineError",
    "PortInUseError",
    "RegistryError",
    "RegistryUnavailableError",
    "SchemaError",
    "SchemaLoadError",
    "SchemaMismatchError",
    "SchemaValidationError",
    "SchemaViolationError",
    "StackError",
    "ToolMissingError",
    "UnknownSchemaError",
    "UnrepresentableValueError",
    "UnsendableRecordError",
    "WireFormatError",
]


class PipelineError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(PipelineError):
    """Settings are missing, malformed or contradictory."""


class StackError(PipelineError):
    """The embedded stack could not be prepared, started or stopped."""


class ToolMissingError(StackError):
    """A program the stack needs (Java, Maven) is not installed or too old."""


class PortInUseError(StackError):
    """A port the stack wants is already held by a process the stack did not start."""

    def __init__(self, component: str, port: int) -> None:
        super().__init__(
            f"{component}: port {port} on 127.0.0.1 is already in use by another process; "
            f"stop it or choose another port (see `pipeline stack up --help`)"
        )
        self.component = component
        self.port = port


class ArtifactError(StackError):
    """Maven could not resolve one of the stack's artifacts."""


class ComponentFailedError(StackError):
    """A component exited during start or did not become ready in time."""

    def __init__(self, component: str, reason: str, log_path: str, log_tail: Sequence[str]) -> None:
        tail = "\n".join(f"    {line}" for line in log_tail) or "    (log is empty)"
        super().__init__(f"{component} {reason}; last lines of {log_path}:\n{tail}")
        self.component = component
        self.log_path = log_path
        self.log_tail = list(log_tail)


class SchemaError(PipelineError):
    """A schema file or catalog entry is wrong."""


class SchemaLoadError(SchemaError):
    """A schema file cannot be read or parsed."""


class IncompatibleSchemaError(SchemaError):
    """A schema change breaks the compatibility level of its subject."""

    def __init__(self, message: str, report: object = None) -> None:
        super().__init__(message)
        self.report = report


class RegistryError(PipelineError):
    """The Schema Registry answered with an error."""

    def __init__(self, message: str, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class RegistryUnavailableError(RegistryError):
    """The Schema Registry could not be reached."""


class SchemaViolationError(PipelineError):
    """A record or a message does not fit its schema."""

    def __init__(
        self,
        message: str,
        *,
        topic: str | None = None,
        partition: int | None = None,
        offset: int | None = None,
        field_path: str | None = None,
    ) -> None:
        super().__init__(message)
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.field_path = field_path


class SchemaValidationError(SchemaError):
    """The schema catalog or its schema files fail validation; ``diagnostics`` holds every problem
    (each names its file, line and path)."""

    def __init__(self, diagnostics: Sequence[object]) -> None:
        self.diagnostics = tuple(diagnostics)
        shown = "\n".join(f"  {diagnostic}" for diagnostic in self.diagnostics[:20])
        more = len(self.diagnostics) - 20
        extra = f"\n  ... and {more} more" if more > 0 else ""
        super().__init__(f"the schema catalog has {len(self.diagnostics)} problem(s):\n{shown}{extra}")


class ClusterUnavailableError(PipelineError):
    """The Kafka cluster could not be reached, or did not answer in time."""


class HistoryError(PipelineError):
    """The git history of the schema files cannot be read: not a repository, a shallow clone, an
    unknown revision, or git itself failed. The message says which and what to do."""


class DeliveryError(PipelineError):
    """Some messages were not delivered; ``stats`` carries the producer's counts and first errors."""

    def __init__(self, message: str, stats: object) -> None:
        super().__init__(message)
        self.stats = stats


class InvalidRecordError(SchemaViolationError):
    """A record to be produced does not fit its schema."""


class UnsendableRecordError(InvalidRecordError):
    """A record that fits its schema but cannot travel as a Kafka message: larger than the producer's
    ``message.max.bytes``, or headers Kafka cannot carry."""


class WireFormatError(SchemaViolationError):
    """The bytes are not in Confluent's wire format (too short, or the magic byte is not 0)."""


class UnknownSchemaError(SchemaViolationError):
    """The message names a schema id the registry does not know."""


class SchemaMismatchError(SchemaViolationError):
    """The writer's schema cannot be read as the reader's (e.g. another record's schema id)."""


class CorruptPayloadError(SchemaViolationError):
    """The Avro body cannot be read with its writer schema (truncated, corrupt, trailing bytes)."""


class UnrepresentableValueError(SchemaViolationError):
    """Valid Avro that no Python value of its logical type can hold (a timestamp outside the years 1 to
    9999, a uuid string that is not a UUID, a time past midnight)."""


class NestingLimitError(SchemaViolationError):
    """A value nested deeper than the codec's limit (a recursive record thousands of levels deep)."""


class KeyDecodeError(SchemaViolationError):
    """A message key that will not decode."""
