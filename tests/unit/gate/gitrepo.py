"""A throwaway git repository for tests: write files, commit, rename, branch and merge."""

from __future__ import annotations

import subprocess
from pathlib import Path

_IDENTITY = [
    "-c", "user.name=Gate Test", "-c", "user.email=gate@example.com",
    "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main",
]  # fmt: skip


class GitRepo:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.git("init", "-q")

    def git(self, *args: str) -> str:
        done = subprocess.run(
            ["git", *_IDENTITY, *args], cwd=self.root, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def write(self, path: str, text: str) -> Path:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        return target

    def commit(self, message: str, *paths: str) -> str:
        self.git("add", "--all", *paths)
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")
