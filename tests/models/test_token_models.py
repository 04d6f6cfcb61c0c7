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
