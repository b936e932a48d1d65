"""The gate's report as text: a table for people, JSON for tools, GitHub Actions annotations for pull
requests (``::error file=…,line=…::`` on the offending field of the ``.avsc`` file). Pure."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from pipeline.gate.model import GateReport, Problem, Status, SubjectVerdict

__all__ = [
    "FORMATS",
    "format_failure",
    "format_github",
    "format_json",
    "format_table",
]

_HEADLINES = {
    Status.INCOMPATIBLE: "not {level}-compatible",
    Status.INVALID: "not a valid new schema",
    Status.DISAGREEMENT: "the registry and the local checker disagree",
    Status.UNJUDGED: "the registry could not judge it",
}


def _columns(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(cell) for cell in column) for column in zip(headers, *rows, strict=False)]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [headers, *rows]]  # fmt: skip


def _status(verdict: SubjectVerdict) -> str:
    if verdict.status is Status.NEW:
        return "new (no earlier version)"
    if verdict.status is Status.UNCHANGED and verdict.same_as is not None:
        return f"unchanged (= version {verdict.same_as})"
    return str(verdict.status)


def _headline(verdict: SubjectVerdict) -> str:
    text = _HEADLINES[verdict.status].format(level=verdict.level.value)
    if verdict.status is Status.INCOMPATIBLE and verdict.checked:
        against = ", ".join(str(number) for number in verdict.checked)
        text += f" with version{'s' if len(verdict.checked) > 1 else ''} {against}"
    return text


def _where(verdict: SubjectVerdict, problem: Problem) -> str:
    return f"{verdict.file}:{problem.line}" if problem.line is not None else verdict.file


def _legend(verdict: SubjectVerdict) -> list[str]:
    numbers = {p.incompatibility.version for p in verdict.problems} | set(verdict.checked)
    if verdict.same_as is not None:
        numbers.add(verdict.same_as)
    return [f"version {number} = {verdict.version(number).source}" for number in sorted(numbers)]


def _summary(report: GateReport) -> str:
    total, failed = len(report.verdicts), report.failed
    line = f"{total} subject(s) checked against {report.baseline}: {total - len(failed)} passed"
    if failed:
        counts: dict[str, int] = {}
        for verdict in failed:
            counts[str(verdict.status)] = counts.get(str(verdict.status), 0) + 1
        line += ", " + ", ".join(f"{count} {status}" for status, count in counts.items())
    return line + "."


def format_table(report: GateReport) -> str:
    """One row per subject, then each failure with its reasons (``file:line: message``) and which
    commit or registry version each version number is, then notes and a summary line."""
    rows = [[v.subject, v.level.value, str(len(v.versions)), _status(v), v.file] for v in report.verdicts]
    out = _columns(["SUBJECT", "LEVEL", "VERSIONS", "STATUS", "FILE"], rows)
    for verdict in report.failed:
        out += ["", f"{verdict.subject} ({verdict.file}): {_headline(verdict)}"]
        out += [f"  {_where(verdict, problem)}: {problem.message}" for problem in verdict.problems]
        if (
            verdict.registry is not None
            and verdict.registry.messages
            and verdict.registry.compatible is False
        ):
            out += [f"  registry: {message}" for message in verdict.registry.messages]
        out += [f"  {note}" for note in verdict.notes]
        out += [f"  {line}" for line in _legend(verdict)]
    noted = [v for v in report.verdicts if v.passed and v.notes]
    if noted:
        out += ["", "notes:"]
        out += [f"  {verdict.subject}: {note}" for verdict in noted for note in verdict.notes]
    out += ["", _summary(report)]
    return "\n".join(out)


def _verdict_json(verdict: SubjectVerdict) -> dict[str, Any]:
    registry = verdict.registry
    return {
        "subject": verdict.subject,
        "full_name": verdict.full_name,
        "file": verdict.file,
        "level": verdict.level.value,
        "status": verdict.status.value,
        "passed": verdict.passed,
        "versions": [{"number": v.number, "source": v.source} for v in verdict.versions],
        "checked_versions": list(verdict.checked),
        "same_as": verdict.same_as,
        "incompatibilities": [
            {
                "kind": p.incompatibility.kind.value,
                "location": p.incompatibility.location,
                "version": p.incompatibility.version,
                "direction": p.incompatibility.direction.value,
                "message": p.message,
                "line": p.line,
            }
            for p in verdict.problems
        ],
        "notes": list(verdict.notes),
        "registry": None
        if registry is None
        else {
            "level": registry.level.value,
            "compatible": registry.compatible,
            "messages": list(registry.messages),
        },
    }


def format_json(report: GateReport) -> str:
    """The whole report as one JSON document (``exit_code`` included)."""
    document = {
        "against": report.against,
        "baseline": report.baseline,
        "passed": not report.failed,
        "exit_code": report.exit_code,
        "subjects": [_verdict_json(verdict) for verdict in report.verdicts],
    }
    return json.dumps(document, indent=2, ensure_ascii=False)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(kind: str, file: str, line: int | None, title: str, message: str) -> str:
    properties = [f"file={_escape_property(file)}"]
    if line is not None:
        properties.append(f"line={line}")
    properties.append(f"title={_escape_property(title)}")
    return f"::{kind} {','.join(properties)}::{_escape_data(message)}"


def format_github(report: GateReport) -> str:
    """GitHub Actions workflow commands: an ``::error`` per incompatibility on the line of the
    candidate's file it points at (naming the commit or registry version it breaks), an ``::error``
    per subject that failed otherwise (disagreement, unjudged, invalid), a ``::warning`` per note on
    subject otherwise (e.g. an earlier version skipped), then the summary line."""
    out = []
    for verdict in report.verdicts:
        title = f"{verdict.subject}: {_headline(verdict)}" if not verdict.passed else verdict.subject
        for problem in verdict.problems:
            version = verdict.version(problem.incompatibility.version)
            message = f"{problem.message} (version {version.number} = {version.source})"
            out.append(_command("error", verdict.file, problem.line, title, message))
        if not verdict.passed and verdict.status is not Status.INCOMPATIBLE:
            out.append(_command("error", verdict.file, None, title, "\n".join(verdict.notes) or title))
        else:
            out += [_command("warning", verdict.file, None, verdict.subject, note) for note in verdict.notes]
    out.append(_summary(report))
    return "\n".join(out)


FORMATS: dict[str, Callable[[GateReport], str]] = {
    "table": format_table,
    "json": format_json,
    "github": format_github,
}


def format_failure(kind: str, message: str) -> str:
    """A gate that could not run (no history, no registry), in output format ``kind``, so that a tool
    reading stdout sees the failure too: a JSON document, a workflow ``::error``, or the sentence."""
    if kind == "json":
        return json.dumps({"passed": False, "exit_code": 2, "error": message, "subjects": []}, indent=2)
    if kind == "github":
        return f"::error title={_escape_property('schema compatibility gate')}::{_escape_data(message)}"
    return f"error: {message}"
