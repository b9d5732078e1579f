from __future__ import annotations

import pytest
import torch

from curate.errors import RunDirError
from curate.train.checkpoint import FORMAT_VERSION, file_sha256, load_checkpoint, save_checkpoint
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
