"""The schema directory's committed history, read from git (the gate's only subprocess).

Every commit on the *first-parent* chain up to a base revision that touched the schema directory,
oldest first, with the text of ``catalog.toml`` and of every ``.avsc`` then: the gate follows each
subject through whatever file and catalog it had (:mod:`pipeline.gate.offline`). First parents only: on
a branch that merges pull requests, what landed is each merge, not the commits inside the pull request,
just as a registry that registers on every push to the branch never saw those.

A shallow clone has no complete history: reading one raises :class:`~pipeline.errors.HistoryError`
rather than letting a truncated history pass a change it should fail.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from pipeline.errors import HistoryError

__all__ = ["CatalogHistory", "Commit", "Snapshot", "read_catalog_history"]

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
class Snapshot:
    """The schema directory (``directory``, repository-relative) at ``commit``: ``catalog.toml`` and
    every ``.avsc``, text by file name."""

    commit: Commit
    directory: str
    files: Mapping[str, str]


@dataclass(frozen=True)
class CatalogHistory:
    """The schema directory at every first-parent commit up to ``base`` that touched it, oldest first:
    what the gate needs to follow each subject through whatever files and catalogs it had."""

    base: str
    commit: Commit | None
    snapshots: tuple[Snapshot, ...]

    @property
    def label(self) -> str:
        if self.commit is None:
            return f"{self.base} (no commits yet)"
        return f"{self.base} ({self.commit.short})"


def read_catalog_history(schema_dir: Path, base: str | None = None, *, git: str = "git") -> CatalogHistory:
    """Every committed state of ``schema_dir`` on the first-parent chain of ``base`` (default HEAD).
    A commit with no schema directory, or a repository without commits, has no snapshot. Raises
    HistoryError when ``schema_dir`` is not in a git work tree, the clone is shallow, ``base`` names no
    commit, or git fails."""
    return _Git(git, schema_dir).catalog_history(schema_dir, base)


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

    def resolve(self, schema_dir: Path, base: str | None) -> tuple[str, str | None]:
        """``base`` as asked (default HEAD) and its commit (None: a repository without commits)."""
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
        sha = self.sha(wanted)
        if base is None and sha:
            branch_point = self.branch_point(sha)
            if branch_point is not None:
                wanted, sha = branch_point
        if not sha:
            if base is None and not self.run("rev-list", "-n1", "--all", check=False).strip():
                return wanted, None
            raise HistoryError(f"{wanted!r} names no commit in {top} (--base takes a branch, tag or commit)")
        return wanted, sha

    def sha(self, revision: str) -> str:
        return (
            self.run("rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}", check=False)
            .decode()
            .strip()
        )

    def branch_point(self, head: str) -> tuple[str, str] | None:
        """When HEAD is on a branch off the default branch, where it left it: the registry holds what
        landed there, not the branch's own steps. None on the default branch, or when there is none."""
        for name in ("origin/HEAD", "origin/main", "origin/master", "main", "master"):
            tip = self.sha(name)
            if not tip:
                continue
            if tip == head:
                return None
            point = self.run("merge-base", head, tip, check=False).decode().strip()
            if not point or point == head:
                return None
            return f"the branch point with {name.removesuffix('/HEAD')}", point
        return None

    def commit(self, sha: str) -> Commit:
        return Commit(sha, self.run("log", "-1", "--format=%s", sha).decode("utf-8", "replace").strip())

    def catalog_history(self, schema_dir: Path, base: str | None) -> CatalogHistory:
        wanted, sha = self.resolve(schema_dir, base)
        if sha is None:
            return CatalogHistory(wanted, None, ())
        directory = self.relative(schema_dir)
        chain = self.chain(sha, directory, set())
        trees = {commit.sha: self.tree(commit.sha, directory, set()) for commit in chain}
        texts = self.blobs({blob for tree in trees.values() for blob in tree.values()})
        snapshots = []
        for commit in chain:
            files = {
                PurePosixPath(path).name: texts[blob]
                for path, blob in trees[commit.sha].items()
                if str(PurePosixPath(path).parent) == directory and blob in texts
            }
            snapshots.append(Snapshot(commit, directory, files))
        return CatalogHistory(wanted, self.commit(sha), tuple(snapshots))

    def relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.cwd.resolve()).as_posix()
        except ValueError as exc:
            raise HistoryError(f"{path} is outside the git work tree at {self.cwd}") from exc

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
