"""The run directory never deletes what curate did not write (--force and --resume on a home
directory, a directory that is not a run, a run holding the user's own files), never runs code
from its files (swapped state files) and never adopts a sibling's step whose files changed."""

from __future__ import annotations

import pickle
from pathlib import Path

import polars as pl
import pytest

from curate.errors import RunDirError, UsageError
from curate.exec.rundir import CONTENT, MARKER, OWN_ENTRIES, RunDir, Step
from tests.exec.test_pipe import make_corpus, recipe_for, run, tree_bytes


def scratch_home(root: Path) -> Path:
    """A home directory with the files a user cares about, some named like curate's."""
    home = root / "home"
    files = {
        ".bashrc": b"export PATH=$HOME/bin:$PATH\n",
        ".ssh/id_rsa": b"-----BEGIN OPENSSH PRIVATE KEY-----\n",
        "Documents/thesis.tex": b"\\documentclass{article}\n",
        "Documents/draft.tmp": b"unsaved work\n",
        "notes.tmp-1": b"more work\n",
        "stages/mydata/a.txt": b"mine\n",
        "rejected/letters/b.txt": b"mine\n",
        "stats/important.json": b"{}\n",
        "output/mine.txt": b"mine\n",
    }
    for name, data in files.items():
        (home / name).parent.mkdir(parents=True, exist_ok=True)
        (home / name).write_bytes(data)
    return home


@pytest.mark.parametrize("mode", ["force", "resume"])
def test_force_or_resume_on_the_home_directory_deletes_nothing(tmp_path, monkeypatch, mode):
    data = make_corpus(tmp_path, files=1)
    home = scratch_home(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    before = tree_bytes(home)
    with pytest.raises(UsageError, match=f"refusing --{mode} on .*your home"):
        run(recipe_for(data), home, workers=1, mode=mode)
    assert tree_bytes(home) == before


@pytest.mark.parametrize("mode", ["force", "resume"])
def test_force_or_resume_on_a_directory_that_is_not_a_run_deletes_nothing(tmp_path, mode):
    data = make_corpus(tmp_path, files=1)
    home = scratch_home(tmp_path)
    before = tree_bytes(home)
    with pytest.raises(UsageError, match=f"refusing --{mode} .*not a curate run directory"):
        run(recipe_for(data), home, workers=1, mode=mode)
    assert tree_bytes(home) == before and not (home / MARKER).exists()


def test_force_on_the_working_directory_is_refused(tmp_path, monkeypatch):
    data = make_corpus(tmp_path, files=1)
    run_dir = tmp_path / "runs/a"
    run(recipe_for(data), run_dir, workers=1)
    monkeypatch.chdir(run_dir)
    with pytest.raises(UsageError, match="working directory"):
        run(recipe_for(data), Path("."), workers=1, mode="force")
    assert (run_dir / "output").is_dir()


def test_force_refuses_a_run_holding_files_curate_did_not_write(tmp_path):
    data = make_corpus(tmp_path, files=1)
    run_dir = tmp_path / "runs/a"
    run(recipe_for(data), run_dir, workers=1)
    (run_dir / "my-notes.md").write_text("keep me")
    (run_dir / "stages/mydata").mkdir()
    before = tree_bytes(run_dir)
    with pytest.raises(UsageError, match=r"holds 'my-notes.md', 'stages/mydata'.*move them out"):
        run(recipe_for(data), run_dir, workers=1, mode="force")
    assert tree_bytes(run_dir) == before


def test_force_clears_a_run_and_keeps_nothing_of_the_old_one(tmp_path):
    data = make_corpus(tmp_path, files=1)
    run_dir = tmp_path / "runs/a"
    run(recipe_for(data, min_chars=25), run_dir, workers=1)
    (run_dir / "stages/07-gone").mkdir()  # a step of an older recipe: curate's, so it goes
    (run_dir / "manifest.json.tmp-99").write_text("half")
    result = run(recipe_for(data), run_dir, workers=1, mode="force")
    assert not any(s["cached"] for s in result.steps)
    assert not (run_dir / "stages/07-gone").exists() and not (run_dir / "manifest.json.tmp-99").exists()
    assert (run_dir / MARKER).is_file()


def test_resume_keeps_files_in_a_run_that_curate_did_not_name(tmp_path):
    data = make_corpus(tmp_path, files=1)
    run_dir = tmp_path / "runs/a"
    run(recipe_for(data), run_dir, workers=1)
    mine = {
        "stages/mydata/a.txt": b"mine",
        "rejected/letters/b.txt": b"mine",
        "stats/important.txt": b"mine",
        "notes/draft.tmp": b"mine",
        "draft.tmp-7": b"mine",
    }
    for name, content in mine.items():
        (run_dir / name).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / name).write_bytes(content)
    (run_dir / "stages/09-old").mkdir()  # a step the recipe no longer has: pruned
    run(recipe_for(data), run_dir, workers=1, mode="resume")
    assert all((run_dir / name).read_bytes() == content for name, content in mine.items())
    assert not (run_dir / "stages/09-old").exists()


def test_runs_made_before_the_marker_are_still_resumed_and_forced(tmp_path):
    data = make_corpus(tmp_path, files=1)
    run_dir = tmp_path / "runs/a"
    run(recipe_for(data), run_dir, workers=1)
    (run_dir / MARKER).unlink()
    resumed = run(recipe_for(data), run_dir, workers=1, mode="resume")
    assert all(s["cached"] for s in resumed.steps)
    (run_dir / MARKER).unlink()
    forced = run(recipe_for(data), run_dir, workers=1, mode="force")
    assert not any(s["cached"] for s in forced.steps)


def test_resume_of_a_new_or_empty_directory_starts_a_run(tmp_path):
    data = make_corpus(tmp_path, files=1)
    (tmp_path / "empty").mkdir()
    for run_dir in (tmp_path / "empty", tmp_path / "missing"):
        result = run(recipe_for(data), run_dir, workers=1, mode="resume")
        assert result.manifest["accounting"]["balanced"] and (run_dir / MARKER).is_file()


class Payload:
    """A pickle that creates a file when it is loaded."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self):
        return (open, (self.path, "w"))


def _reopen_step(run_dir: Path, dirname: str) -> None:
    """Make a finished step look killed halfway: no _SUCCESS, one shard left to do."""
    stage = run_dir / "stages" / dirname
    (stage / "_SUCCESS").unlink()
    next((stage / "_done").glob("*.json")).unlink()


def test_a_swapped_state_file_runs_no_code_on_resume(tmp_path):
    data = make_corpus(tmp_path, files=2)
    run_dir = tmp_path / "runs/a"
    run(recipe_for(data), run_dir, workers=1)
    _reopen_step(run_dir, "02-exact")
    target = tmp_path / "pwned"
    (run_dir / "stages/02-exact/_state.npz").write_bytes(pickle.dumps(Payload(target)))
    with pytest.raises(RunDirError, match=r"_state\.npz is not a readable curate state file"):
        run(recipe_for(data), run_dir, workers=1, mode="resume")
    assert not target.exists()


def test_swapped_partials_run_no_code_on_resume(tmp_path):
    data = make_corpus(tmp_path, files=2)
    run_dir = tmp_path / "runs/a"
    run(recipe_for(data), run_dir, workers=1)
    _reopen_step(run_dir, "02-exact")
    stage = run_dir / "stages/02-exact"
    (stage / "_state.npz").unlink()  # the fit reads the partials again
    target = tmp_path / "pwned"
    for partial in (stage / "_partials").iterdir():
        partial.write_bytes(pickle.dumps(Payload(target)))
    with pytest.raises(RunDirError, match="not a readable curate state file"):
        run(recipe_for(data), run_dir, workers=1, mode="resume")
    assert not target.exists()


def test_a_run_with_pickled_state_from_an_older_curate_resumes_without_reading_it(tmp_path):
    data = make_corpus(tmp_path, files=2)
    reference = run(recipe_for(data), tmp_path / "ref/run", workers=1).run_dir
    run_dir = tmp_path / "runs/a"
    run(recipe_for(data), run_dir, workers=1)
    _reopen_step(run_dir, "02-exact")
    stage = run_dir / "stages/02-exact"
    target = tmp_path / "pwned"
    for path in [stage / "_state.npz", *(stage / "_partials").iterdir()]:
        path.unlink()
        path.with_suffix(".pkl").write_bytes(pickle.dumps(Payload(target)))
    run(recipe_for(data), run_dir, workers=1, mode="resume")
    assert not target.exists()
    assert tree_bytes(run_dir / "output") == tree_bytes(reference / "output")


def _tamper(part: Path) -> None:
    frame = pl.read_parquet(part)
    frame.with_columns(pl.col("text").str.replace("document", "TAMPERED")).write_parquet(part)


def test_a_tampered_sibling_step_is_recomputed_not_adopted(tmp_path):
    data = make_corpus(tmp_path, files=1)
    run(recipe_for(data), tmp_path / "runs/a", workers=1)
    _tamper(next((tmp_path / "runs/a/stages/00-read").glob("part-*.parquet")))
    b = run(recipe_for(data, min_chars=20), tmp_path / "runs/b", workers=1)
    assert [s["cached"] for s in b.steps] == [False, False, False, False]
    assert "runs/a/stages/00-read: its files changed" in b.steps[0]["not_reused"][0]
    out = pl.read_parquet(sorted((tmp_path / "runs/b/output").glob("*.parquet")))
    assert not out["text"].str.contains("TAMPERED").any()


def test_a_tampered_sibling_output_is_recomputed_and_the_rest_adopted(tmp_path):
    data = make_corpus(tmp_path, files=1)
    run(recipe_for(data), tmp_path / "runs/a", workers=1)
    _tamper(next((tmp_path / "runs/a/output").glob("part-*.parquet")))
    b = run(recipe_for(data), tmp_path / "runs/b", workers=1)
    assert [s["cached"] for s in b.steps] == [True, True, True, False]
    assert "output/part-" in b.steps[3]["not_reused"][0]
    out = pl.read_parquet(sorted((tmp_path / "runs/b/output").glob("*.parquet")))
    assert out.height > 0 and not out["text"].str.contains("TAMPERED").any()


def test_a_sibling_step_without_content_hashes_is_recomputed(tmp_path):
    data = make_corpus(tmp_path, files=1)
    run(recipe_for(data), tmp_path / "runs/a", workers=1)
    for content in (tmp_path / "runs/a/stages").glob(f"*/{CONTENT}"):
        content.unlink()
    b = run(recipe_for(data), tmp_path / "runs/b", workers=1)
    assert not any(s["cached"] for s in b.steps)
    assert "records no content hashes" in b.steps[0]["not_reused"][0]


def test_every_top_level_name_of_the_layout_is_an_entry_curate_owns(tmp_path):
    from curate.io.rundir import RunLayout

    layout = RunLayout(tmp_path)
    tops = [
        layout.stages_dir,
        layout.rejected_dir("01-x").parent,
        layout.stats_dir,
        layout.output,
        layout.manifest,
        layout.recipe_file,
        layout.score_file,
        layout.eval_docs_dir,
        layout.report_file,
        layout.marker_file,
        layout.lock_file,
    ]
    assert all(p.parent == tmp_path for p in tops)
    assert {p.name for p in tops} <= OWN_ENTRIES
    step = Step(3, "dedupe", "k")
    run = RunDir(tmp_path)
    assert (run.stage(step), run.rejected(step), run.stats(step)) == (
        tmp_path / "stages" / "03-dedupe",
        tmp_path / "rejected" / "03-dedupe",
        tmp_path / "stats" / "03-dedupe.json",
    )


def test_per_document_scores_beside_score_json_are_not_hashed_with_the_train_step(tmp_path):
    # `curate score` rewrites score.json and eval_docs/ (npz files carry write times): a rescored
    # run's train step must still verify when a sibling adopts it
    from curate.exec.rundir import content_hashes

    stage = tmp_path / "stages" / "03-train"
    stage.mkdir(parents=True)
    (stage / "_ARTIFACTS").write_text("train score.json eval_docs")
    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "checkpoint.pt").write_bytes(b"weights")
    (tmp_path / "score.json").write_text("{}")
    (tmp_path / "eval_docs").mkdir()
    (tmp_path / "eval_docs" / "web.npz").write_bytes(b"scores")
    assert set(content_hashes(tmp_path, "03-train")) == {"stage/_ARTIFACTS", "train/checkpoint.pt"}
