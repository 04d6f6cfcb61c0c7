"""Posterior networks over tokens: shapes, conditioning, bidirectionality, and the builder's checks."""

from __future__ import annotations

import pytest
import torch

from flowmatch.errors import FlowmatchError
from flowmatch.models import TokenMLP, TokenTransformer, build_model


@pytest.mark.parametrize("name,options", [("token-mlp", {"hidden": 32, "depth": 2}), ("transformer", {"embed_dim": 32, "layers": 2, "heads": 4})])
def test_builder_makes_token_models(name, options):
    model = build_model(name, (6,), num_classes=3, vocab=5, input_vocab=6, **options)
    x = torch.randint(6, (4, 6))
    out = model(x, torch.rand(4), y=torch.tensor([0, 1, 2, 3]))
    assert out.shape == (4, 6, 5)
    out.sum().backward()


def test_transformer_is_bidirectional_and_time_conditioned():
    torch.manual_seed(0)
    model = TokenTransformer(5, 4, seq_len=6, dim=32, layers=2, heads=2)
    for p in model.parameters():  # adaLN-zero starts with zero modulation: perturb it to see time act
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randint(5, (1, 6))
    t = torch.tensor([0.3])
    base = model(x, t)
    later = x.clone()
    later[0, 5] = (later[0, 5] + 1) % 5
    assert not torch.allclose(model(later, t)[0, 0], base[0, 0])  # the first position sees the last
    assert not torch.allclose(model(x, torch.tensor([0.8])), base)
    causal = TokenTransformer(5, 4, seq_len=6, dim=32, layers=2, heads=2, causal=True)
    assert torch.allclose(causal(later, t)[0, :5], causal(x, t)[0, :5])  # no position sees a later one


def test_token_mlp_reads_only_token_sequences():
    model = TokenMLP(4, 4, seq_len=2, hidden=8)
    with pytest.raises(FlowmatchError, match=r"\(B, 2\) integer tokens"):
        model(torch.rand(3, 2), torch.rand(3))


def test_builder_pairs_token_models_with_token_data():
    with pytest.raises(FlowmatchError, match="token data need a posterior network"):
        build_model("mlp", (2,), vocab=128)
    with pytest.raises(FlowmatchError, match="reads token sequences"):
        build_model("transformer", (8,))
    with pytest.raises(FlowmatchError, match="multiple of heads"):
        build_model("transformer", (8,), vocab=4, embed_dim=30, heads=4)
    with pytest.raises(FlowmatchError, match="shape"):
        build_model("token-mlp", (2, 2), vocab=4)


def test_rotary_scores_depend_only_on_the_offset():
    """<R_p q, R_s k> = <R_{p+d} q, R_{s+d} k>: rotated queries and keys see relative positions, and rotations keep norms."""
    from flowmatch.models.tokens import rotary_tables, rotate

    torch.manual_seed(0)
    q, k = torch.randn(8), torch.randn(8)
    cos, sin = rotary_tables(12, 8)
    qs = rotate(q.expand(1, 1, 12, 8), cos, sin)[0, 0]
    ks = rotate(k.expand(1, 1, 12, 8), cos, sin)[0, 0]
    assert torch.allclose(qs.norm(dim=-1), q.norm().expand(12), atol=1e-5)
    for offset in (0, 1, 3):
        scores = torch.stack([qs[p] @ ks[p + offset] for p in range(12 - offset)])
        assert torch.allclose(scores, scores[0].expand_as(scores), atol=1e-4)
    assert not torch.allclose(qs[0] @ ks[1], qs[0] @ ks[3], atol=1e-3)  # different offsets score differently


def test_transformer_positions_are_an_option():
    rope = build_model("transformer", (6,), vocab=5, input_vocab=6, embed_dim=32, layers=1, heads=4)
    learned = build_model("transformer", (6,), vocab=5, input_vocab=6, embed_dim=32, layers=1, heads=4, positions="learned")
    assert rope.pos_embed is None and learned.pos_embed.shape == (6, 32)
    with pytest.raises(FlowmatchError, match="positions"):
        TokenTransformer(5, 4, seq_len=6, dim=32, layers=1, heads=4, positions="absolute")
    with pytest.raises(FlowmatchError, match="must be even"):
        TokenTransformer(5, 4, seq_len=6, dim=36, layers=1, heads=4)
    assert TokenTransformer(5, 4, seq_len=6, dim=36, layers=1, heads=4, positions="learned")(torch.zeros(2, 6, dtype=torch.long), torch.rand(2)).shape == (2, 6, 4)


def test_rotary_tables_first_made_while_sampling_still_train():
    model = TokenTransformer(5, 4, seq_len=7, dim=16, layers=1, heads=2)
    x = torch.randint(5, (3, 7))
    with torch.inference_mode():
        model(x, torch.rand(3))
    model(x, torch.rand(3)).sum().backward()
    assert model.blocks[0].qkv.weight.grad is not None
