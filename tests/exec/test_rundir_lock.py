"""The run directory's lock: held for the life of a run, gone when it ends."""

from __future__ import annotations

import pytest

from curate.errors import UsageError
from curate.exec.rundir import RunDir


def test_the_lock_is_held_while_running_and_removed_when_the_run_ends(tmp_path):
    run = RunDir(tmp_path / "run")
    run.prepare(mode="new")
    assert (run.root / ".lock").exists()
    with pytest.raises(UsageError, match="another curate process is running"):
        RunDir(run.root).lock()
    run.unlock()
    assert not (run.root / ".lock").exists()  # a finished run directory holds no .lock
    again = RunDir(run.root)
    again.lock()  # and can be locked again, e.g. by --resume
    assert (run.root / ".lock").exists()
    with pytest.raises(UsageError, match="another curate process is running"):
        RunDir(run.root).lock()
    again.unlock()


def test_a_lock_file_opened_before_its_run_removed_it_is_not_taken(tmp_path):
    """A process that opened the old .lock just before the holder removed it would lock a file
    that no longer exists; it must take the new one, so that two processes never both hold it."""
    run = RunDir(tmp_path / "run")
    run.lock()
    stale = open(run.root / ".lock")  # noqa: SIM115 - opened before the holder finishes
    run.unlock()
    successor = RunDir(run.root)
    successor.lock()
    import fcntl
    import os

    fcntl.flock(stale, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the stale file is free: it is not the lock
    assert os.fstat(stale.fileno()).st_ino != os.stat(run.root / ".lock").st_ino
    with pytest.raises(UsageError):
        RunDir(run.root).lock()
    stale.close()
    successor.unlock()
