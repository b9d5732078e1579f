from __future__ import annotations

import json
import random

import pytest
import torch

from curate.errors import InputError
from curate.train.checkpoint import load_checkpoint
from curate.train.dpo import DPOConfig, dpo, dpo_loss
from tests.train.conftest import OBJECTS, PLACES, SUBJECTS, VERBS


def pairs(n: int, seed: int) -> list[dict[str, str]]:
    """A preference the corpus does not teach: 'at midnight' over 'yesterday'."""
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        body = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)} {rng.choice(PLACES)}"
        out.append(
            {
                "prompt": "When did it happen?",
                "chosen": f"{body} at midnight.",
                "rejected": f"{body} yesterday.",
            }
        )
    return out


def test_dpo_loss_matches_the_paper():
    pc, pr, rc, rr = (torch.tensor([v]) for v in (-5.0, -7.0, -6.0, -6.0))
    loss, margin = dpo_loss(pc, pr, rc, rr, beta=0.5)
    assert margin.item() == pytest.approx(0.5 * ((-5 + 6) - (-7 + 6)))
    assert loss.item() == pytest.approx(-torch.nn.functional.logsigmoid(torch.tensor(1.0)).item())


def test_dpo_learns_a_preference(trained, sp_path, tmp_path):
    cfg = DPOConfig(beta=0.1, steps=30, batch_size=8, lr=2e-3, warmup=3, log_every=10)
    result = dpo(
        trained.checkpoint, pairs(64, seed=1), sp_path, cfg, out_dir=tmp_path, eval_pairs=pairs(32, seed=2)
    )
    assert result.before["pref_accuracy"] < 0.5
    assert result.after["pref_accuracy"] >= 0.9
    assert result.after["pref_margin"] > result.before["pref_margin"]
    assert result.losses[-1] < result.losses[0]
    rows = [json.loads(line) for line in result.metrics_path.read_text().splitlines()]
    assert [r["step"] for r in rows] == [10, 20, 30]
    ckpt = load_checkpoint(result.checkpoint)
    assert ckpt.train_config["dpo"]["beta"] == 0.1 and ckpt.step == 30


def test_dpo_needs_preference_records(trained, sp_path, tmp_path):
    with pytest.raises(InputError, match="preference records"):
        dpo(trained.checkpoint, [{"text": "a"}], sp_path, DPOConfig(steps=1), out_dir=tmp_path)
