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


def write_documents(directory, lengths, *, seq_len=8):
    """A packed token set of documents of the given lengths; token = document number."""
    stream = np.concatenate([np.full(n, i % 1000, dtype=np.int64) for i, n in enumerate(lengths)])
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.uint64)
    pad = (-stream.size) % seq_len
    stream = np.concatenate([stream, np.zeros(pad, dtype=np.int64)])
    with TokenWriter(directory, vocab_size=1000, seq_len=seq_len) as w:
        w.write(stream.reshape(-1, seq_len), np.ones((stream.size // seq_len, seq_len), dtype=np.uint8))
        w.add_doc_starts(starts)
    return directory


def first_row_times(loader: TokenLoader) -> dict[int, float]:
    """When in the epoch (0-1) the loader reads each document's first own row (the first row that
    starts inside it; token = document number)."""
    owner = np.asarray(loader.data.tokens[:, 0])
    docs, first = np.unique(owner, return_index=True)  # stream order: the first row of each
    when = np.empty(loader.num_rows)
    when[loader._order] = np.arange(loader.num_rows) / loader.num_rows
    return dict(zip(docs.tolist(), when[first].tolist(), strict=True))


def test_document_order_visits_every_row_once_per_epoch_and_resumes(tmp_path):
    lengths = np.random.default_rng(0).integers(1, 40, size=300)
    data = write_documents(tmp_path, lengths)
    loader = TokenLoader(data, batch_size=8, seed=3)
    n = loader.num_rows
    assert loader.order == "documents"
    epoch = np.concatenate([loader.next_rows() for _ in range(-(-n // 8))])
    assert sorted(epoch[:n].tolist()) == list(range(n))  # the first n rows: one epoch, each row once
    state = loader.state_dict()
    rest = [loader.next_rows().tolist() for _ in range(5)]
    resumed = TokenLoader(data, batch_size=8, seed=3)
    resumed.load_state_dict(state)
    assert [resumed.next_rows().tolist() for _ in range(5)] == rest


def test_document_order_spreads_a_document_evenly_and_mixes_batches(tmp_path):
    """A document's rows are read in reading order from a random phase, evenly spread over the
    epoch; a batch holds rows of unrelated documents, as in a random row order."""
    data = write_documents(tmp_path, [64] * 400)  # 8 rows per document, 3,200 rows
    order = TokenLoader(data, batch_size=16, seed=0)._order
    position = np.argsort(order)
    for doc in range(400):
        at = position[doc * 8 : doc * 8 + 8]
        assert np.array_equal(np.roll(at, -int(np.argmin(at))), np.sort(at))  # a rotation of reading order
        assert np.all(np.diff(np.sort(at)) >= 300)  # ~400 apart: an eighth of the epoch
    docs_in_batches = [len(set((order[i : i + 16] // 8).tolist())) for i in range(0, order.size, 16)]
    assert min(docs_in_batches) == 16


def test_document_order_pairs_datasets_that_share_most_documents(tmp_path):
    """The point of the document order (issue 15): in a copy with 20% of its documents made longer
    (boilerplate), every unchanged document is read at about the same point of the epoch under
    one seed; with the row order, at an unrelated one."""
    rng = np.random.default_rng(1)
    lengths = rng.integers(5, 200, size=600)
    damaged = lengths.copy()
    hit = rng.choice(600, 120, replace=False)
    damaged[hit] += 20
    a, b = write_documents(tmp_path / "a", lengths), write_documents(tmp_path / "b", damaged)
    kept = [d for d in range(600) if d not in set(hit.tolist())]

    def drift(order: str) -> float:
        ta, tb = (first_row_times(TokenLoader(x, batch_size=16, seed=4, order=order)) for x in (a, b))
        both = [d for d in kept if d in ta and d in tb]
        assert len(both) > 300
        gaps = [abs(ta[d] - tb[d]) for d in both]
        return float(np.median([min(g, 1 - g) for g in gaps]))  # around the epoch's circle

    paired, unpaired = drift("documents"), drift("rows")
    assert paired < 0.02  # a fiftieth of an epoch
    assert unpaired > 0.15  # two independent uniform times: median circular gap 0.25
    assert unpaired > 10 * paired


def test_document_order_depends_on_the_documents_and_the_seed_not_the_tokens(tmp_path):
    lengths = np.random.default_rng(5).integers(1, 40, size=200)
    a = write_documents(tmp_path / "a", lengths)
    b = write_documents(tmp_path / "b", lengths)
    with TokenWriter(b, vocab_size=1000, seq_len=8) as w:  # same document starts, other tokens
        tokens = TokenLoader(a, batch_size=1).data.tokens
        w.write((np.asarray(tokens) * 7 + 3) % 1000, np.ones(tokens.shape, dtype=np.uint8))
        w.add_doc_starts(TokenLoader(a, batch_size=1).data.doc_starts)
    same = [TokenLoader(d, batch_size=8, seed=1)._order.tolist() for d in (a, b)]
    assert same[0] == same[1]
    assert TokenLoader(a, batch_size=8, seed=2)._order.tolist() != same[0]


def test_a_token_set_without_document_starts_falls_back_to_the_row_order(numbered):
    assert TokenLoader(numbered, batch_size=4).order == "rows"
