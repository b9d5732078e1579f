from __future__ import annotations

import errno
import os
import re
import subprocess

import pytest
import torch

from curate.errors import RunDirError
from curate.train.checkpoint import (
    FORMAT_VERSION,
    file_sha256,
    load_checkpoint,
    save_checkpoint,
    state_nbytes,
)
from curate.train.model import GPT, GPTConfig
from curate.train.score import score


def test_checkpoint_describes_itself(trained, sp_path):
    ckpt = load_checkpoint(trained.checkpoint)
    assert ckpt.step == 150
    assert ckpt.config.n_layer == 2 and ckpt.config.n_embd == 32 and ckpt.config.seq_len == 32
    assert ckpt.tokenizer == {"path": str(sp_path.resolve()), "sha256": file_sha256(sp_path)}
    assert ckpt.special_ids == {"eos": 2}
    assert ckpt.train_config["steps"] == 150 and ckpt.train_config["preset"] == "tiny"
    assert ckpt.optimizer is not None and ckpt.loader is not None
    assert not ckpt.model.training


def test_save_load_gives_the_same_eval(trained, sp_path, eval_texts, tmp_path):
    records = [{"text": t} for t in eval_texts[:8]]
    ckpt = load_checkpoint(trained.checkpoint)
    before = score(ckpt.model, records, sp_path, start_id=2)
    path = save_checkpoint(
        tmp_path / "copy.pt",
        ckpt.model,
        step=ckpt.step,
        tokenizer=ckpt.tokenizer,
        special_ids=ckpt.special_ids,
    )
    after = score(path, records, sp_path)  # rebuilt from the file alone, start id from its special ids
    for key in ("tokens", "bytes", "nll", "ppl", "bpb"):
        assert after[key] == before[key]


def test_not_a_checkpoint(tmp_path):
    with pytest.raises(RunDirError, match="no checkpoint"):
        load_checkpoint(tmp_path / "missing.pt")
    torch.save({"weights": torch.zeros(2)}, tmp_path / "foreign.pt")
    with pytest.raises(RunDirError, match="not a curate checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    (tmp_path / "broken.pt").write_bytes(b"not a zip")
    with pytest.raises(RunDirError, match="cannot read"):
        load_checkpoint(tmp_path / "broken.pt")


def test_newer_format_is_refused(tmp_path):
    path = save_checkpoint(
        tmp_path / "m.pt", GPT(GPTConfig(vocab_size=10, seq_len=4, n_layer=1, n_head=1, n_embd=8)), step=0
    )
    state = torch.load(path, weights_only=True)
    state["format_version"] = FORMAT_VERSION + 1
    torch.save(state, path)
    with pytest.raises(RunDirError, match="upgrade curate"):
        load_checkpoint(path)


@pytest.fixture
def tiny_device(tmp_path):
    """A real 512 KB file system (tmpfs; mounting needs root)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs to fill ({done.stderr.strip() or 'mount failed'})")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=True)  # busy if a failed write left a file open


def _fill(directory):
    """Write a file until the device is full."""
    fd = os.open(directory / "filler", os.O_WRONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError) as full:
            while True:
                os.write(fd, b"\0" * 4096)
    finally:
        os.close(fd)
    assert full.value.errno == errno.ENOSPC


def test_full_disk_keeps_the_last_checkpoint_and_says_so(tiny_device):
    model = GPT(GPTConfig(vocab_size=256, seq_len=8, n_layer=1, n_head=2, n_embd=32))
    path = save_checkpoint(tiny_device / "checkpoint.pt", model, step=1)
    _fill(tiny_device)
    optimizer = torch.optim.AdamW(model.parameters())
    model(torch.zeros(1, 8, dtype=torch.long), torch.zeros(1, 8, dtype=torch.long)).backward()
    optimizer.step()  # optimizer state: the checkpoint grows
    with pytest.raises(RunDirError) as error:
        save_checkpoint(path, model, step=2, optimizer=optimizer)
    message = str(error.value)
    assert "no space left on device" in message and str(path) in message
    needed = re.search(r"needs about ([\d.,]+) MB", message)
    assert needed and float(needed.group(1)) >= state_nbytes(model.state_dict()) / 1e6
    assert "previous checkpoint" in message and "kept" in message
    assert load_checkpoint(path).step == 1  # the last good checkpoint survives
    assert sorted(p.name for p in tiny_device.iterdir()) == ["checkpoint.pt", "filler"]  # no partial file


def test_other_write_errors_are_not_called_a_full_disk(tmp_path):
    model = GPT(GPTConfig(vocab_size=10, seq_len=4, n_layer=1, n_head=1, n_embd=8))
    (tmp_path / "file").write_text("")
    with pytest.raises(OSError) as error:
        save_checkpoint(tmp_path / "file" / "checkpoint.pt", model, step=0)  # parent is a file
    assert "no space" not in str(error.value)
