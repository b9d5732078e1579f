"""State files of global stages: every type the stages keep round-trips exactly, and a state file
can never run code when it is read (no pickle anywhere, dataclasses only from an allowlist)."""

from __future__ import annotations

import io
import json
import pickle
from dataclasses import dataclass

import numpy as np
import polars as pl
import pytest

from curate.errors import RunDirError
from curate.io import state as state_file
from curate.stages.base import ShardInfo
from curate.stages.dedupe import DedupeConfig, apply, fit, refit, rescan, summarize


class Payload:
    """A pickle that creates a file when it is loaded."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_plain_data_numpy_and_polars_round_trip_exactly(tmp_path):
    value = {
        1: {2, 3},
        "text": ("a", 1.5, float("nan"), None, True, [1, 2**70]),
        (0, "key"): b"\x00\xffbytes",
        "arrays": [np.arange(5, dtype=np.uint16), np.zeros((2, 3)), np.array(["x", "yz"]), np.int64(7)],
        "series": pl.Series("id", ["a", None, "c"]),
        "frame": pl.DataFrame({"x": [1, 2], "y": [[1], []]}),
    }
    again = state_file.load(state_file.save(value, tmp_path / "s.npz"))
    assert set(again) == set(value) and again[1] == {2, 3}
    assert (
        again["text"][:2] == ("a", 1.5)
        and np.isnan(again["text"][2])
        and again["text"][3:] == value["text"][3:]
    )
    assert again[(0, "key")] == value[(0, "key")]
    for got, want in zip(again["arrays"], value["arrays"], strict=True):
        assert got.dtype == want.dtype and np.array_equal(got, want)
    assert type(again["arrays"][3]) is np.int64
    assert again["series"].equals(value["series"]) and again["series"].name == "id"
    assert again["frame"].equals(value["frame"])


def test_dedupe_through_state_files_gives_what_it_gives_in_memory():
    """Every partial and state of dedupe with verification (rescan, pending state) stored and read
    back between the passes, as the pipe loop does: the same drops as without files."""
    from tests.stages.test_dedupe import doc, edited, texts_frame

    base = [doc(80, seed) for seed in range(6)]
    texts = base + [edited(t, 2, i) for i, t in enumerate(base)] + [base[0]]
    shards = [
        (ShardInfo(i, "web", "text"), b)
        for i, b in enumerate([texts_frame(texts[:7]), texts_frame(texts[7:], start=7)])
    ]
    cfg = DedupeConfig(minhash={"verify": True})

    def stage(through_files: bool) -> list[pl.DataFrame]:
        trip = (lambda x: state_file.loads(state_file.dumps(x))) if through_files else (lambda x: x)
        partials = [trip(summarize(b, cfg, s)) for s, b in shards]
        first = fit(partials, cfg)
        assert first.needs_rescan
        state = trip(first.state)
        rescans = [trip(rescan(b, cfg, state, s)) for s, b in shards]
        final = trip(refit(rescans, cfg, state).state)
        return [apply(b, cfg, final, s).dropped for s, b in shards]

    direct, stored = stage(False), stage(True)
    assert sum(d.height for d in direct) > 1
    assert all(a.equals(b) for a, b in zip(direct, stored, strict=True))


def test_a_pickle_in_place_of_a_state_file_is_refused_and_never_run(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "_state.npz"
    path.write_bytes(pickle.dumps(Payload(str(target))))
    with pytest.raises(RunDirError, match="not a readable curate state file"):
        state_file.load(path)
    assert not target.exists()


def test_a_pickled_array_inside_a_state_file_is_refused(tmp_path):
    target = tmp_path / "pwned"
    buffer = io.BytesIO()
    tree = np.frombuffer(b'{"n":0}', dtype=np.uint8)
    np.savez(buffer, __tree__=tree, a0=np.array([Payload(str(target))], dtype=object))
    (tmp_path / "s.npz").write_bytes(buffer.getvalue())
    with pytest.raises(RunDirError):
        state_file.load(tmp_path / "s.npz")
    assert not target.exists()


@pytest.mark.parametrize("name", ["subprocess:Popen", "os:system", "tests.io.test_state:Unlisted"])
def test_only_allowlisted_dataclasses_are_rebuilt(tmp_path, name):
    tree = json.dumps({"dc": name, "f": {"args": "touch pwned"}}).encode()
    buffer = io.BytesIO()
    np.savez(buffer, __tree__=np.frombuffer(tree, dtype=np.uint8))
    with pytest.raises(RunDirError, match="refusing type"):
        state_file.loads(buffer.getvalue())


@dataclass(frozen=True)
class Unlisted:
    args: str


def test_an_unregistered_dataclass_is_refused_when_written_and_a_registered_one_round_trips():
    with pytest.raises(RunDirError, match="refusing type"):
        state_file.dumps(Unlisted("x"))

    @state_file.register
    @dataclass(frozen=True)
    class Plugin:
        rows: np.ndarray
        label: str = "x"

    again = state_file.loads(state_file.dumps([Plugin(np.arange(3))]))
    assert again[0].label == "x" and np.array_equal(again[0].rows, np.arange(3))


def test_what_cannot_be_stored_without_pickle_is_a_type_error():
    with pytest.raises(TypeError, match="objects"):
        state_file.dumps(np.array([object()], dtype=object))
    with pytest.raises(TypeError, match="cannot store"):
        state_file.dumps(object())
