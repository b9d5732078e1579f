from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from curate.train.model import (
    GPT,
    IGNORE_INDEX,
    GPTConfig,
    apply_rope,
    count_params,
    flops_per_token,
    linear_cross_entropy,
    preset_config,
    rope_tables,
)


def micro(**kw) -> GPT:
    torch.manual_seed(0)
    return GPT(GPTConfig(**{"vocab_size": 100, "seq_len": 16, "n_layer": 2, "n_head": 2, "n_embd": 32, **kw}))


@pytest.mark.parametrize(
    ("preset", "low", "high"),
    [("tiny", 1.0e6, 2.0e6), ("small", 18e6, 24e6)],
)
def test_preset_sizes_at_vocab_8000(preset, low, high):
    n = count_params(GPT(preset_config(preset, vocab_size=8000, seq_len=64)))
    assert low <= n <= high


def test_gpt2_preset_has_gpt2_small_shape():
    cfg = preset_config("gpt2-124m", vocab_size=50257, seq_len=1024)
    assert (cfg.n_layer, cfg.n_head, cfg.n_embd, cfg.mlp) == (12, 12, 768, "gelu")
    # GPT-2 small is 124.4M with learned positions (0.8M); RoPE has none.
    n = count_params(GPT(preset_config("gpt2-124m", vocab_size=50257, seq_len=128)))
    assert 123e6 <= n <= 124.5e6


def test_tied_embeddings_are_one_tensor_counted_once():
    tied, untied = micro(), micro(tie_embeddings=False)
    assert tied.lm_head.weight is tied.wte.weight
    assert count_params(untied) - count_params(tied) == tied.wte.weight.numel()


def test_vocab_is_padded_for_matmuls_but_logits_are_not():
    model = micro(vocab_size=100)
    assert model.wte.weight.shape[0] == 128
    assert model(torch.zeros(1, 4, dtype=torch.long)).shape == (1, 4, 100)


@pytest.mark.parametrize("mlp", ["swiglu", "gelu"])
def test_attention_is_causal(mlp):
    model = micro(mlp=mlp).eval()
    x = torch.randint(0, 100, (2, 12))
    y = x.clone()
    y[:, 8:] = (y[:, 8:] + 1) % 100  # change the future only
    with torch.no_grad():
        a, b = model(x), model(y)
    torch.testing.assert_close(a[:, :8], b[:, :8])
    assert not torch.allclose(a[:, 8:], b[:, 8:])


def test_position_matters():
    """RoPE makes the model order-aware: the same tokens in another order give other logits."""
    model = micro().eval()
    x = torch.tensor([[5, 6, 7, 8]])
    with torch.no_grad():
        assert not torch.allclose(model(x)[0, -1], model(x.flip(1))[0, -1])


def test_rope_scores_depend_on_relative_position_only():
    cos, sin = rope_tables(64, 16, 10000.0)
    q, k = torch.randn(16), torch.randn(16)

    def at(v: torch.Tensor, pos: int) -> torch.Tensor:
        return apply_rope(v.view(1, 1, 1, 16), cos[pos : pos + 1], sin[pos : pos + 1]).flatten()

    torch.testing.assert_close(at(q, 7).norm(), q.norm())  # a rotation
    torch.testing.assert_close(at(q, 10) @ at(k, 3), at(q, 40) @ at(k, 33))
    assert not torch.isclose(at(q, 10) @ at(k, 3), at(q, 10) @ at(k, 4))


def test_longer_input_than_trained_extends_rope():
    model = micro(seq_len=8).eval()
    x = torch.randint(0, 100, (1, 20))
    with torch.no_grad():
        long = model(x)
        short = model(x[:, :8])
    torch.testing.assert_close(long[:, :8], short)


def test_loss_is_cross_entropy_skipping_ignored_targets():
    model = micro().eval()
    x = torch.randint(0, 100, (2, 10))
    y = torch.randint(0, 100, (2, 10))
    y[0, :4] = IGNORE_INDEX
    with torch.no_grad():
        logits = model(x)
        keep = y != IGNORE_INDEX
        by_hand = F.cross_entropy(logits[keep], y[keep])
        torch.testing.assert_close(model(x, y), by_hand)
        torch.testing.assert_close(model(x, y, reduction="sum"), by_hand * keep.sum())


@pytest.mark.parametrize("chunk", [7, 256])
def test_fused_linear_cross_entropy_equals_the_plain_one(chunk):
    """The CPU training path (logits never materialised) gives the plain loss and gradients."""
    torch.manual_seed(0)
    x = torch.randn(50, 16, requires_grad=True)
    w = torch.randn(64, 16, requires_grad=True)  # 64 rows: vocab 40 padded
    t = torch.randint(0, 40, (50,))
    t[::4] = IGNORE_INDEX
    plain = F.cross_entropy(x @ w[:40].t(), t, ignore_index=IGNORE_INDEX, reduction="sum")
    gx, gw = torch.autograd.grad(3 * plain, (x, w))
    fused = linear_cross_entropy(x, w, t, 40, chunk=chunk)
    fx, fw = torch.autograd.grad(3 * fused, (x, w))
    torch.testing.assert_close(fused, plain)
    torch.testing.assert_close(fx, gx)
    torch.testing.assert_close(fw, gw)
    assert fw[40:].abs().sum() == 0  # padding rows get no gradient


def test_training_loss_path_matches_eval_path():
    model = micro()
    x, y = torch.randint(0, 100, (2, 12)), torch.randint(0, 100, (2, 12))
    y[1, :5] = IGNORE_INDEX
    train_loss = model(x, y)  # grad enabled on CPU: fused path
    with torch.no_grad():
        eval_loss = model(x, y)
    torch.testing.assert_close(train_loss.detach(), eval_loss)


def test_tiny_model_overfits_one_batch():
    torch.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=64, seq_len=32, n_layer=2, n_head=2, n_embd=64))
    x = torch.randint(0, 64, (4, 33))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(150):
        loss = model(x[:, :-1], x[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1


def test_flops_per_token_counts_matmuls():
    cfg = GPTConfig(vocab_size=64, seq_len=16, n_layer=1, n_head=1, n_embd=8, mlp="gelu", mlp_ratio=4.0)
    # one layer: qkv 8x24 + proj 8x8 + MLP 2 x 8x32 = 768; lm_head 64x8 = 512; attention 12 x 1 x 8 x 16
    assert flops_per_token(cfg) == 6 * (768 + 512) + 12 * 8 * 16


def test_config_rejects_bad_shapes():
    with pytest.raises(ValueError, match="multiple of n_head"):
        GPTConfig(n_embd=30, n_head=4)
    with pytest.raises(ValueError, match="mlp"):
        GPTConfig(mlp="relu")  # type: ignore[arg-type]
