from __future__ import annotations

import numpy as np
import pytest
import torch

from curate.io.tokens import TokenWriter
from curate.train.data import TokenLoader, rows_to_batch
from curate.train.model import GPT, IGNORE_INDEX, GPTConfig


@pytest.fixture
def numbered(tmp_path):
    """10 rows of 6 tokens; row r holds r*10 .. r*10+5; mask 0 on the first two tokens of odd rows."""
    rows = np.arange(10)[:, None] * 10 + np.arange(6)
    mask = np.ones((10, 6), dtype=np.uint8)
    mask[1::2, :2] = 0
    with TokenWriter(tmp_path, vocab_size=100, seq_len=6) as w:
        w.write(rows, mask)
    return tmp_path


def first_tokens(loader: TokenLoader, n_batches: int) -> list[int]:
    return [int(t) // 10 for _ in range(n_batches) for t in loader.next_batch().x[:, 0]]


def test_batches_shift_inputs_and_targets(numbered):
    batch = TokenLoader(numbered, batch_size=10, shuffle=False).next_batch()
    assert batch.x.shape == batch.y.shape == (10, 5)
    assert batch.x[0].tolist() == [0, 1, 2, 3, 4]
    assert batch.y[0].tolist() == [1, 2, 3, 4, 5]
    assert batch.y[1].tolist() == [IGNORE_INDEX, 12, 13, 14, 15]  # target 11 is masked, input 10 is not
    assert batch.x.dtype == batch.y.dtype == torch.long
    assert batch.n_targets == 5 * 5 + 5 * 4


def test_each_epoch_visits_every_row_once_in_a_seeded_order(numbered):
    loader = TokenLoader(numbered, batch_size=4, seed=7)
    seen = first_tokens(loader, 5)  # 20 rows = two epochs
    assert sorted(seen[:10]) == sorted(seen[10:]) == list(range(10))
    assert seen[:10] != seen[10:]  # a new permutation per epoch
    assert seen == first_tokens(TokenLoader(numbered, batch_size=4, seed=7), 5)
    assert seen != first_tokens(TokenLoader(numbered, batch_size=4, seed=8), 5)


def test_state_dict_resumes_the_same_sequence(numbered):
    loader = TokenLoader(numbered, batch_size=3, seed=1)
    first_tokens(loader, 4)
    state = loader.state_dict()
    rest = first_tokens(loader, 5)
    resumed = TokenLoader(numbered, batch_size=3, seed=1)
    resumed.load_state_dict(state)
    assert first_tokens(resumed, 5) == rest
    with pytest.raises(ValueError, match="tokens changed"):
        TokenLoader(numbered, batch_size=3, seed=2).load_state_dict(state)


def test_batch_larger_than_the_data_wraps_epochs(numbered):
    batch = TokenLoader(numbered, batch_size=25, seed=0).next_batch()
    assert batch.x.shape[0] == 25


def test_empty_split_is_an_error(tmp_path):
    TokenWriter(tmp_path, vocab_size=10, seq_len=4).close()
    with pytest.raises(ValueError, match="no rows"):
        TokenLoader(tmp_path, batch_size=2)


def grads(model: GPT, x: torch.Tensor, y: torch.Tensor) -> tuple[float, list[torch.Tensor]]:
    model.zero_grad()
    loss = model(x, y)
    loss.backward()
    return loss.item(), [p.grad.clone() for p in model.parameters()]


def test_loss_mask_excludes_masked_targets():
    """Changing a masked target changes neither the loss nor any gradient; changing an unmasked
    target changes both."""
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=50, seq_len=16, n_layer=2, n_head=2, n_embd=32))
    rng = np.random.default_rng(0)
    tokens = rng.integers(0, 50, size=(4, 17))
    mask = np.ones_like(tokens, dtype=np.uint8)
    mask[:, :9] = 0  # an SFT-like row: prompt masked, response trained

    base = rows_to_batch(tokens, mask)
    changed_masked = tokens.copy()
    changed_masked[:, 3:9] = (changed_masked[:, 3:9] + 7) % 50  # targets at positions 3..8 are masked
    changed_unmasked = tokens.copy()
    changed_unmasked[:, 12] = (changed_unmasked[:, 12] + 7) % 50

    loss0, g0 = grads(model, base.x, base.y)
    y_masked = rows_to_batch(changed_masked, mask).y
    loss1, g1 = grads(model, base.x, y_masked)  # same inputs, other masked targets
    assert loss1 == loss0
    assert all(torch.equal(a, b) for a, b in zip(g0, g1, strict=True))

    loss2, _ = grads(model, base.x, rows_to_batch(changed_unmasked, mask).y)
    assert loss2 != loss0
    assert base.n_targets == 4 * 8


def test_the_order_depends_on_the_seed_and_the_row_count_not_the_tokens(numbered, tmp_path):
    """Two variants whose token streams differ but have as many rows visit them in one order per
    seed (the pairing of a sweep's seeds)."""
    other = tmp_path / "other"
    with TokenWriter(other, vocab_size=100, seq_len=6) as w:
        w.write((np.arange(60).reshape(10, 6) * 7) % 100, np.ones((10, 6), dtype=np.uint8))
    rows = [TokenLoader(d, batch_size=4, seed=5).next_rows().tolist() for d in (numbered, other)]
    assert rows[0] == rows[1]
    assert TokenLoader(other, batch_size=4, seed=6).next_rows().tolist() != rows[0]
