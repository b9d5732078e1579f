"""Two processes sharing ``$CURATE_CACHE_DIR`` ask for the same base-tokens entry at the same time
(what runs of one sweep with ``init_from: base:web`` do): the entry is built once, and both get
the whole of it."""

from __future__ import annotations

import contextlib
import hashlib
import json
import multiprocessing
import os
import threading
from pathlib import Path

import numpy as np

from tests.conftest import write_jsonl
from tests.train.conftest import documents, train_tokenizer

SEQ_LEN = 16


def _digest(directory: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        h.update(path.relative_to(directory).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def _ask_for_base_tokens(
    source: dict,
    model: str,
    cache: str,
    log: str,
    start: threading.Barrier,
    building: threading.Barrier,
    out: str,
) -> None:
    """One process of the race (spawned): count each build in ``log``, then ask for the entry."""
    import curate.train.pipeline as pipeline
    from curate.io.tokens import open_tokens
    from curate.recipe import Source

    class CountedWriter(pipeline.TokenWriter):
        def __init__(self, *args, **kwargs):
            with open(log, "a") as f:
                f.write(f"{os.getpid()}\n")
            # stay in the build until the other process builds too, if it ever does (if not,
            # it is waiting for this build to finish)
            with contextlib.suppress(threading.BrokenBarrierError):
                building.wait(timeout=1)
            super().__init__(*args, **kwargs)

    pipeline.TokenWriter = CountedWriter  # the real writer, counted
    start.wait()
    directory = pipeline.base_tokens(Source(**source), Path(model), SEQ_LEN, Path(cache))
    tokens = open_tokens(directory)
    Path(out).write_text(
        json.dumps(
            {
                "dir": str(directory),
                "digest": _digest(directory),
                "rows": int(np.asarray(tokens.tokens).shape[0]),
            }
        )
    )


def test_two_processes_build_the_same_base_tokens_once_and_both_read_all_of_it(tmp_path):
    texts = documents(120, seed=3)
    model = train_tokenizer(texts, tmp_path / "tok", vocab_size=300)
    write_jsonl(tmp_path / "data/web.jsonl", [{"text": t} for t in texts])
    source = {"name": "web", "path": str(tmp_path / "data/web.jsonl")}
    ctx = multiprocessing.get_context("spawn")
    start, building = ctx.Barrier(2), ctx.Barrier(2)
    log = tmp_path / "builds.log"
    procs = [
        ctx.Process(
            target=_ask_for_base_tokens,
            args=(
                source,
                str(model),
                str(tmp_path / "cache"),
                str(log),
                start,
                building,
                str(tmp_path / f"{i}.json"),
            ),
        )
        for i in range(2)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    first, second = (json.loads((tmp_path / f"{i}.json").read_text()) for i in range(2))
    assert first == second and first["rows"] > 10
    assert len(log.read_text().splitlines()) == 1  # built once
    entry = Path(first["dir"])
    assert sorted(p.name for p in entry.parent.iterdir()) == sorted([entry.name, f"{entry.name}.lock"])


def test_a_base_model_trained_by_a_killed_process_is_adopted_not_trained_again(tokens_dir, sp_path, tmp_path):
    from curate.train.base import base_checkpoint, base_key, base_train_config
    from curate.train.checkpoint import load_checkpoint
    from curate.train.loop import train
    from tests.train.conftest import micro_config

    cfg = base_train_config(micro_config(init_from="base:web", base_steps=3))
    entry = tmp_path / "base" / f"web-{base_key('web', tokens_dir, cfg, sp_path)}"
    killed = entry.with_name(f"{entry.name}.tmp-99999-0bad")  # trained, then killed before publishing
    train(tokens_dir, cfg, out_dir=killed, tokenizer_path=sp_path, progress=False)
    mtime = (killed / "checkpoint.pt").stat().st_mtime_ns
    path = base_checkpoint("web", tokens_dir, cfg, tokenizer_path=sp_path, cache_dir=tmp_path, progress=False)
    assert path == entry / "checkpoint.pt" and load_checkpoint(path).step == 3
    assert path.stat().st_mtime_ns == mtime  # resumed at its last step: nothing to train again
    assert sorted(p.name for p in entry.parent.iterdir()) == sorted([entry.name, f"{entry.name}.lock"])
