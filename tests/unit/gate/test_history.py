"""Reading the schema files' history from a real git repository (git is a local program: no network)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.errors import HistoryError
from pipeline.gate import read_history
from tests.unit.gate.gitrepo import GitRepo


def schema(name: str, *fields: str) -> str:
    namespace, _, simple = name.rpartition(".")
    body = ", ".join(f'{{"name": "{field}", "type": "string"}}' for field in fields)
    return f'{{"type": "record", "name": "{simple}", "namespace": "{namespace}", "fields": [{body}]}}\n'


@pytest.fixture
def repo(tmp_path: Path) -> GitRepo:
    return GitRepo(tmp_path / "repo")


def texts(repo: GitRepo, file: str, base: str | None = None) -> list[tuple[str, str]]:
    history = read_history(repo.root / "schemas", [repo.root / file], base)
    return [(r.commit.summary, r.path) for r in history.revisions[str(repo.root / file)]]


def test_every_commit_that_touched_the_directory_oldest_first_with_the_types_then(repo: GitRepo) -> None:
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.commit("add A")
    repo.write("schemas/a.B.avsc", schema("a.B", "y"))
    repo.commit("add B")
    repo.write("README", "unrelated\n")
    repo.commit("docs only")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "z"))
    repo.commit("change A")
    history = read_history(repo.root / "schemas", [repo.root / "schemas/a.A.avsc"])
    revisions = history.revisions[str(repo.root / "schemas/a.A.avsc")]
    assert [r.commit.summary for r in revisions] == ["add A", "add B", "change A"]
    assert [sorted(r.types) for r in revisions] == [["a.A"], ["a.A", "a.B"], ["a.A", "a.B"]]
    assert revisions[0].text == schema("a.A", "x") and revisions[-1].text == schema("a.A", "x", "z")
    assert history.commit is not None and history.commit.summary == "change A"
    assert history.label == f"HEAD ({history.commit.sha[:8]})"


def test_a_renamed_file_keeps_its_history(repo: GitRepo) -> None:
    repo.write("schemas/old.A.avsc", schema("old.A", "x", "y"))
    repo.commit("add")
    repo.git("mv", "schemas/old.A.avsc", "schemas/new.A.avsc")
    repo.write("schemas/new.A.avsc", schema("new.A", "x", "y"))
    repo.commit("move to namespace new")
    repo.write("schemas/new.A.avsc", schema("new.A", "x", "y", "z"))
    repo.commit("change")
    assert texts(repo, "schemas/new.A.avsc") == [
        ("add", "schemas/old.A.avsc"),
        ("move to namespace new", "schemas/new.A.avsc"),
        ("change", "schemas/new.A.avsc"),
    ]


def test_a_file_moved_into_the_directory_keeps_its_history(repo: GitRepo) -> None:
    repo.write("avro/A.avsc", schema("a.A", "x", "y"))
    repo.commit("add outside")
    (repo.root / "schemas").mkdir()
    repo.git("mv", "avro/A.avsc", "schemas/a.A.avsc")
    repo.commit("move into the catalog")
    assert texts(repo, "schemas/a.A.avsc") == [
        ("add outside", "avro/A.avsc"),
        ("move into the catalog", "schemas/a.A.avsc"),
    ]


def test_first_parent_only_what_landed_on_the_branch(repo: GitRepo) -> None:
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.commit("add")
    repo.git("checkout", "-q", "-b", "feature")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "wip"))
    repo.commit("work in progress")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "done"))
    repo.commit("finished")
    repo.git("checkout", "-q", "main")
    repo.git("merge", "-q", "--no-ff", "feature", "-m", "merge feature")
    assert [summary for summary, _ in texts(repo, "schemas/a.A.avsc")] == ["add", "merge feature"]
    # on the branch itself, its own commits are its first-parent history
    assert [s for s, _ in texts(repo, "schemas/a.A.avsc", "feature")] == [
        "add",
        "work in progress",
        "finished",
    ]


def test_base_limits_the_history(repo: GitRepo) -> None:
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    first = repo.commit("add")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "y"))
    repo.commit("change")
    assert texts(repo, "schemas/a.A.avsc", first) == [("add", "schemas/a.A.avsc")]


def test_a_deleted_and_restored_file_has_no_version_while_deleted(repo: GitRepo) -> None:
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.write("schemas/a.B.avsc", schema("a.B", "x"))
    repo.commit("add")
    repo.git("rm", "-q", "schemas/a.A.avsc")
    repo.commit("delete A")
    repo.write("schemas/a.B.avsc", schema("a.B", "x", "y"))
    repo.commit("change B")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "y"))
    repo.commit("restore A")
    assert [s for s, _ in texts(repo, "schemas/a.A.avsc")] == ["add", "restore A"]


def test_a_file_never_committed_has_no_history(repo: GitRepo) -> None:
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.commit("add")
    repo.write("schemas/a.New.avsc", schema("a.New", "x"))
    assert texts(repo, "schemas/a.New.avsc") == []


def test_a_repository_without_commits_has_no_history(repo: GitRepo) -> None:
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    history = read_history(repo.root / "schemas", [repo.root / "schemas/a.A.avsc"])
    assert history.commit is None and history.revisions == {str(repo.root / "schemas/a.A.avsc"): ()}
    assert history.label == "HEAD (no commits yet)"


def test_a_shallow_clone_is_refused_with_what_to_do(repo: GitRepo, tmp_path: Path) -> None:
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.commit("add")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "y"))
    repo.commit("change")
    clone = tmp_path / "shallow"
    repo.git("clone", "-q", "--depth", "1", f"file://{repo.root}", str(clone))
    with pytest.raises(HistoryError, match=r"shallow clone.*fetch-depth: 0.*--unshallow"):
        read_history(clone / "schemas", [clone / "schemas/a.A.avsc"])


def test_outside_a_repository_or_with_an_unknown_base_is_an_error(repo: GitRepo, tmp_path: Path) -> None:
    loose = tmp_path / "loose" / "schemas"
    loose.mkdir(parents=True)
    with pytest.raises(HistoryError, match="not in a git work tree"):
        read_history(loose, [loose / "a.A.avsc"])
    repo.write("schemas/a.A.avsc", schema("a.A", "x"))
    repo.commit("add")
    with pytest.raises(HistoryError, match="'no-such-branch' names no commit"):
        read_history(repo.root / "schemas", [repo.root / "schemas/a.A.avsc"], "no-such-branch")


def test_a_new_file_does_not_borrow_the_history_of_a_similar_one(repo: GitRepo) -> None:
    """``git log --follow`` takes the unchanged, near-identical B for the origin of the new A and lists
    B's commits as A's history (git 2.39 does here); the gate follows renames only."""
    repo.write("schemas/a.B.avsc", schema("a.B", "x"))
    repo.commit("add B")
    repo.write("schemas/a.B.avsc", schema("a.B", "x", "y"))
    repo.commit("change B")
    repo.write("schemas/a.A.avsc", schema("a.A", "x", "y"))
    repo.commit("add A, a near copy of B")
    assert texts(repo, "schemas/a.A.avsc") == [("add A, a near copy of B", "schemas/a.A.avsc")]
