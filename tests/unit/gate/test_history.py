"""The gate's notion of history, from a real git repository (git is a local program: no network): the
schema directory at every first-parent commit, and each subject's versions through whatever files and
catalogs it had."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import HistoryError
from pipeline.gate import read_catalog_history, subject_versions
from pipeline.schema import load_catalog
from tests.unit.gate.gitrepo import GitRepo


def schema(name: str, *fields: str) -> str:
    namespace, _, simple = name.rpartition(".")
    body = ", ".join(f'{{"name": "{field}", "type": "string"}}' for field in fields)
    return f'{{"type": "record", "name": "{simple}", "namespace": "{namespace}", "fields": [{body}]}}\n'


def catalog(*topics: tuple[str, str]) -> str:
    text = "[lint]\ndocs = false\n"
    return text + "".join(f'[topics.{topic}]\nvalue = "{value}"\n' for topic, value in topics)


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


def versions(repo: GitRepo, subject: str, base: str | None = None) -> list[tuple[str, str]]:
    """(commit summary, file then) of each version the subject had, oldest first."""
    history = read_catalog_history(repo.root / "schemas", base)
    found = subject_versions(load_catalog(repo.root / "schemas"), history).get(subject, [])
    return [(commit.summary, Path(path).name) for commit, path, _text, _types in found]


def test_every_commit_that_touched_the_directory_oldest_first_with_its_files(repo: GitRepo) -> None:
    repo.write("schemas/catalog.toml", catalog(("t", "a.A")))
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.commit("add A")
    repo.write("schemas/a.B.avsc", schema("a.B", "y"))
    repo.commit("add B")
    repo.write("README", "unrelated\n")
    repo.commit("docs only")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "z"))
    repo.commit("change A")
    history = read_catalog_history(repo.root / "schemas")
    assert [s.commit.summary for s in history.snapshots] == ["add A", "add B", "change A"]
    assert [sorted(s.files) for s in history.snapshots] == [
        ["a.A.avsc", "catalog.toml"],
        ["a.A.avsc", "a.B.avsc", "catalog.toml"],
        ["a.A.avsc", "a.B.avsc", "catalog.toml"],
    ]
    assert history.commit is not None and history.commit.summary == "change A"
    assert history.label == f"HEAD ({history.commit.sha[:8]})"
    assert versions(repo, "t-value") == [
        ("add A", "a.A.avsc"),
        ("add B", "a.A.avsc"),
        ("change A", "a.A.avsc"),
    ]


def test_a_subject_keeps_its_history_through_renames_rewrites_and_a_new_file(repo: GitRepo) -> None:
    repo.write("schemas/catalog.toml", catalog(("t", "old.A")))
    repo.write("schemas/old.A.avsc", schema("old.A", "x", "y"))
    repo.commit("add")
    # rewritten beyond recognition and renamed in one commit: git sees a delete and an add
    (repo.root / "schemas/old.A.avsc").unlink()
    repo.write("schemas/new.Other.avsc", schema("new.Other", "completely", "different", "fields", "now"))
    repo.write("schemas/catalog.toml", catalog(("t", "new.Other")))
    repo.commit("rewrite")
    # the topic pointed at yet another file
    repo.write("schemas/new.OtherV2.avsc", schema("new.OtherV2", "v2"))
    repo.write("schemas/catalog.toml", catalog(("t", "new.OtherV2")))
    repo.commit("point at V2")
    assert versions(repo, "t-value") == [
        ("add", "old.A.avsc"),
        ("rewrite", "new.Other.avsc"),
        ("point at V2", "new.OtherV2.avsc"),
    ]


def test_first_parent_only_what_landed_on_the_branch(repo: GitRepo) -> None:
    repo.write("schemas/catalog.toml", catalog(("t", "a.A")))
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.commit("add")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "wip"))
    repo.commit("work in progress")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "done"))
    repo.commit("finished")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "feature", "-m", "merge feature")
    assert [s for s, _ in versions(repo, "t-value")] == ["add", "merge feature"]
    assert [s for s, _ in versions(repo, "t-value", "feature")] == ["add", "work in progress", "finished"]


def test_base_limits_the_history(repo: GitRepo) -> None:
    repo.write("schemas/catalog.toml", catalog(("t", "a.A")))
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    first = repo.commit("add")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "y"))
    repo.commit("change")
    assert versions(repo, "t-value", first) == [("add", "a.A.avsc")]


def test_a_subject_has_no_version_while_no_catalog_gave_it_one(repo: GitRepo) -> None:
    repo.write("schemas/catalog.toml", catalog(("t", "a.A"), ("u", "a.B")))
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.write("schemas/a.B.avsc", schema("a.B", "x"))
    repo.commit("add")
    repo.git("rm", "-q", "schemas/a.A.avsc")
    repo.write("schemas/catalog.toml", catalog(("u", "a.B")))
    repo.commit("drop topic t")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "y"))
    repo.write("schemas/catalog.toml", catalog(("t", "a.A"), ("u", "a.B")))
    repo.commit("restore t")
    assert [s for s, _ in versions(repo, "t-value")] == ["add", "restore t"]
    # a new subject, even with a file much like another's, has no history of its own
    repo.write("schemas/a.C.avsc", schema("a.C", "x"))
    repo.write("schemas/catalog.toml", catalog(("t", "a.A"), ("u", "a.B"), ("v", "a.C")))
    assert versions(repo, "v-value") == []


def test_an_old_catalog_that_no_longer_loads_falls_back_on_todays_files(repo: GitRepo) -> None:
    repo.write("schemas/catalog.toml", "this is not toml [")
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.commit("broken catalog")
    repo.write("schemas/catalog.toml", catalog(("t", "a.A")))
    repo.commit("fixed catalog")
    assert [s for s, _ in versions(repo, "t-value")] == ["broken catalog", "fixed catalog"]


def test_a_repository_without_commits_has_no_history(repo: GitRepo) -> None:
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    history = read_catalog_history(repo.root / "schemas")
    assert history.commit is None and history.snapshots == ()
    assert history.label == "HEAD (no commits yet)"


def test_a_shallow_clone_is_refused_with_what_to_do(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.commit("add")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "y"))
    repo.commit("change")
    clone = tmp_path / "shallow"
    repo.git("clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    with pytest.raises(HistoryError, match=r"shallow clone.*fetch-depth: 0.*--unshallow"):
        read_catalog_history(clone / "schemas")


def test_outside_a_repository_or_with_an_unknown_base_is_an_error(repo: GitRepo, tmp_path: Path) -> None:
    loose = tmp_path / "loose" / "schemas"
    loose.mkdir(parents=True)
    with pytest.raises(HistoryError, match="not in a git work tree"):
        read_catalog_history(loose)
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.commit("add")
    with pytest.raises(HistoryError, match="'no-such-branch' names no commit"):
        read_catalog_history(repo.root / "schemas", "no-such-branch")
