"""The schema files' committed history, read from git (the gate's only subprocess).

For each candidate file, every commit on the *first-parent* chain up to a base revision that touched
the schema directory or any name the file had, oldest first, with the file's text at that commit and
the text of every ``<full name>.avsc`` in the schema directory then. Renames are followed, so a renamed
or moved file keeps its history; copies are not (``git log --follow`` follows those too, and would
give a new file the history of a similar one). First parents only: on a branch that merges pull
requests, what landed is each merge, not the commits inside the pull request, just as a registry that
registers on every push to the branch never saw those.

A shallow clone has no complete history: reading one raises :class:`~pipeline.errors.HistoryError`
rather than letting a truncated history pass a change it should fail.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipeline.errors import HistoryError

__all__ = ["Commit", "Revision", "SchemaHistory", "read_history"]

_UNSHALLOW_HINT = (
    "fetch the whole history (actions/checkout: `fetch-depth: 0`; or `git fetch --unshallow`), "
    "or check against the registry instead (`--against registry`)"
)


@dataclass(frozen=True)
class Commit:
    sha: str
    summary: str

    @property
    def short(self) -> str:
        return self.sha[:8]

    def __str__(self) -> str:
        return f'commit {self.short} "{self.summary}"'


@dataclass(frozen=True)
class Revision:
    """A candidate file as it was at ``commit``: its path then (repository-relative), its text, and the
    text of each ``<full name>.avsc`` in the schema directory at that commit, by full name."""

    commit: Commit
    path: str
    text: str
    types: Mapping[str, str]


@dataclass(frozen=True)
class SchemaHistory:
    """What :func:`read_history` found: the base as asked and as resolved (None: a repository without
    commits), and each candidate file's revisions (keyed by the path as given), oldest first."""

    base: str
    commit: Commit | None
    revisions: Mapping[str, tuple[Revision, ...]]

    @property
    def label(self) -> str:
        if self.commit is None:
            return f"{self.base} (no commits yet)"
        return f"{self.base} ({self.commit.short})"


def read_history(
    schema_dir: Path, files: Sequence[Path], base: str | None = None, *, git: str = "git"
) -> SchemaHistory:
    """The history of ``files`` (in ``schema_dir``) on the first-parent chain of ``base`` (default
    HEAD). A file never committed has no revisions. Raises HistoryError when ``schema_dir`` is not in a
    git work tree, the clone is shallow, ``base`` names no commit, or git fails."""
    return _Git(git, schema_dir).history(schema_dir, files, base)


class _Git:
    def __init__(self, git: str, where: Path) -> None:
        self.git = git
        self.cwd = where

    def run(self, *args: str, stdin: bytes | None = None, check: bool = True) -> bytes:
        try:
            done = subprocess.run(
                [self.git, "--literal-pathspecs", *args],
                cwd=self.cwd,
                input=stdin,
                capture_output=True,
                check=False,
            )
        except FileNotFoundError as exc:
            raise HistoryError(
                f"git is not installed (looked for {self.git!r}); the gate reads history with it"
            ) from exc
        if check and done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip()
            raise HistoryError(f"git {args[0]} failed in {self.cwd}: {message}")
        return done.stdout if done.returncode == 0 else b""

    def history(self, schema_dir: Path, files: Sequence[Path], base: str | None) -> SchemaHistory:
        if not schema_dir.is_dir():
            raise HistoryError(f"{schema_dir}: no such schema directory")
        top = self.run("rev-parse", "--show-toplevel", check=False).decode().strip()
        if not top:
            raise HistoryError(
                f"{schema_dir} is not in a git work tree: the offline gate reads the schemas' earlier "
                "versions from git history (or use `--against registry`)"
            )
        self.cwd = Path(top)
        if self.run("rev-parse", "--is-shallow-repository").decode().strip() == "true":
            raise HistoryError(f"{top} is a shallow clone, so its history is incomplete; {_UNSHALLOW_HINT}")
        wanted = base or "HEAD"
        sha = (
            self.run("rev-parse", "--verify", "--quiet", f"{wanted}^{{commit}}", check=False).decode().strip()
        )
        if not sha:
            if base is None and not self.run("rev-list", "-n1", "--all", check=False).strip():
                return SchemaHistory(wanted, None, {str(file): () for file in files})
            raise HistoryError(f"{wanted!r} names no commit in {top} (--base takes a branch, tag or commit)")
        head = Commit(sha, self.run("log", "-1", "--format=%s", sha).decode("utf-8", "replace").strip())
        directory = self.relative(schema_dir)
        names = {str(file): self.names(sha, self.relative(file)) for file in files}
        every_path = {path for entries in names.values() for _, path in entries}
        chain = self.chain(sha, directory, every_path)
        trees = {commit.sha: self.tree(commit.sha, directory, every_path) for commit in chain}
        texts = self.blobs({blob for tree in trees.values() for blob in tree.values()})
        snapshots: dict[str, dict[str, str]] = {}
        for commit in chain:
            snapshots[commit.sha] = {
                PurePosixPath(path).name.removesuffix(".avsc"): texts[blob]
                for path, blob in trees[commit.sha].items()
                if str(PurePosixPath(path).parent) == directory and path.endswith(".avsc") and blob in texts
            }
        revisions: dict[str, tuple[Revision, ...]] = {}
        for file, entries in names.items():
            path_at = dict(entries)
            found: list[Revision] = []
            path: str | None = None
            for commit in chain:
                path = path_at.get(commit.sha, path)
                blob = trees[commit.sha].get(path) if path is not None else None
                if path is not None and blob is not None and blob in texts:
                    found.append(Revision(commit, path, texts[blob], snapshots[commit.sha]))
            revisions[file] = tuple(found)
        return SchemaHistory(wanted, head, revisions)

    def relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.cwd.resolve()).as_posix()
        except ValueError as exc:
            raise HistoryError(f"{path} is outside the git work tree at {self.cwd}") from exc

    def names(self, sha: str, path: str) -> list[tuple[str, str]]:
        """(commit, the file's path in that commit) for each first-parent commit up to ``sha`` that
        touched it, newest first, following renames. Like ``git log --follow`` but renames only:
        --follow also takes a *copy* for the file's origin, so a new file similar to an existing one
        would borrow that file's history."""
        entries: list[tuple[str, str]] = []
        start, current = sha, path
        while True:
            out = self.run("log", "--first-parent", "--format=%H", start, "--", current).decode()
            commits = out.split()
            entries.extend((commit, current) for commit in commits)
            if not commits:
                return entries
            created = commits[-1]  # the oldest commit with this name: did a rename create it?
            parent = (
                self.run("rev-parse", "--verify", "--quiet", f"{created}^1", check=False).decode().strip()
            )
            if not parent:
                return entries
            diff = self.run("diff", "-z", "--name-status", "-M", parent, created).decode(
                "utf-8", "surrogateescape"
            )
            fields = diff.split("\0")
            origin = None
            index = 0
            while index < len(fields) - 1:
                status = fields[index]
                if status.startswith(("R", "C")):
                    if status.startswith("R") and fields[index + 2] == current:
                        origin = fields[index + 1]
                    index += 3
                else:
                    index += 2
            if origin is None:
                return entries
            start, current = parent, origin

    def chain(self, sha: str, directory: str, paths: set[str]) -> list[Commit]:
        """First-parent commits up to ``sha`` that touched ``directory`` or any of ``paths``, oldest
        first."""
        specs = sorted({f"{directory}/" if directory != "." else ".", *paths})
        out = self.run("log", "--first-parent", "--reverse", "-z", "--format=%H%x00%s", sha, "--", *specs)
        fields = out.decode("utf-8", "surrogateescape").split("\0")
        return [Commit(fields[i].strip("\n"), fields[i + 1]) for i in range(0, len(fields) - 1, 2)]

    def tree(self, sha: str, directory: str, paths: set[str]) -> dict[str, str]:
        """Path -> blob id of the files in ``directory`` and of ``paths`` at ``sha``."""
        specs = sorted({f"{directory}/" if directory != "." else ".", *paths})
        out = self.run("ls-tree", "-z", "--full-tree", sha, "--", *specs)
        tree = {}
        for entry in out.decode("utf-8", "surrogateescape").split("\0"):
            meta, _, path = entry.partition("\t")
            kind_blob = meta.split()
            if len(kind_blob) == 3 and kind_blob[1] == "blob":
                tree[path] = kind_blob[2]
        return tree

    def blobs(self, ids: set[str]) -> dict[str, str]:
        """Blob id -> text, for the blobs that are UTF-8 text."""
        if not ids:
            return {}
        order = sorted(ids)
        out = self.run("cat-file", "--batch", stdin="".join(f"{blob}\n" for blob in order).encode())
        texts: dict[str, str] = {}
        position = 0
        for blob in order:
            header_end = out.index(b"\n", position)
            header = out[position:header_end].split()
            position = header_end + 1
            if len(header) != 3:
                continue  # "<id> missing"
            size = int(header[2])
            content = out[position : position + size]
            position += size + 1
            try:
                texts[blob] = content.decode("utf-8")
            except UnicodeDecodeError:
                continue
        return texts
