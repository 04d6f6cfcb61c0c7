"""Posterior networks over token sequences: logits(x, t, y=None) -> (B, L, V) for x: (B, L) tokens.

`TokenMLP` flattens per-token embeddings of a short sequence into one MLP (the 2D discrete sets);
`TokenTransformer` is a bidirectional transformer for longer sequences, conditioned on time (and
class) by adaptive layer norms, with attention by `torch.nn.functional.scaled_dot_product_attention`
(`causal=True` in a block gives the autoregressive reference of the benchmarks), positions by
rotary embeddings of the queries and keys.

The input vocabulary may hold one more token than the output (the mask of the mask path).

References: Peebles & Xie, "Scalable Diffusion Models with Transformers" (2023), for the adaptive
layer norms; Radford et al. (2019) for the pre-norm block; Su et al., "RoFormer" (2021), for the
rotary position embedding.
"""

from __future__ import annotations

import functools

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from flowmatch.errors import FlowmatchError
from flowmatch.models.embeddings import ClassEmbedding, TimeEmbedding

# The sinusoidal scale of the time embeddings of posterior networks: slow features, nearly linear
# in t. The posterior of the uniform path changes smoothly with t, and on the discrete checkerboard
# (600 steps, batch 1024, NFE 16) the token MLP reached TV 0.448 with scale 1 against 0.471 with
# the velocity networks' 1000 (and 0.444 for flow_matching's network, which reads t itself).
TOKEN_TIME_SCALE = 1.0

# How the transformer sees positions. Rotary embeddings give attention the relative offset of two
# characters from the first step, where learnt vectors (initialised small) must first be learnt: on
# Tiny Shakespeare (width 128, 4 blocks, benchmarks/text.py --minutes 4) the mask-path bound fell
# to 2.36 nats per character with rotary positions against 3.31 with learnt ones (the unigram level).
POSITIONS = ("rope", "learned")


def _check_tokens(x: Tensor, seq_len: int, input_vocab: int) -> None:
    if x.dim() != 2 or x.shape[1] != seq_len or x.is_floating_point():
        raise FlowmatchError(f"this network reads (B, {seq_len}) integer tokens, got {'floats' if x.is_floating_point() else 'tokens'} of shape {tuple(x.shape)}")


class TokenMLP(nn.Module):
    """x: (B, L) tokens, t: (B,), y: (B,) or None -> logits (B, L, V).

    Each token is embedded in `hidden` dimensions; the L embeddings, flattened, and the time (plus
    class) embedding enter `depth` hidden layers of SiLU units; the last layer gives L x V logits.
    """

    def __init__(self, input_vocab: int, vocab: int, seq_len: int, hidden: int = 128, depth: int = 3, time_dim: int = 32, num_classes: int = 0):
        super().__init__()
        self.input_vocab, self.vocab, self.seq_len, self.num_classes = input_vocab, vocab, seq_len, num_classes
        self.token_embed = nn.Embedding(input_vocab, hidden)
        self.time_embed = TimeEmbedding(time_dim, time_dim, scale=TOKEN_TIME_SCALE)
        self.class_embed = ClassEmbedding(num_classes, time_dim) if num_classes else None
        layers: list[nn.Module] = [nn.SiLU()]
        width = seq_len * hidden + time_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        layers.append(nn.Linear(width, seq_len * vocab))
        self.net = nn.Sequential(*layers)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        _check_tokens(x, self.seq_len, self.input_vocab)
        emb = self.time_embed(t)
        if self.class_embed is not None:
            emb = emb + self.class_embed(y, x.shape[0])
        h = torch.cat([self.token_embed(x).flatten(1), emb], dim=-1)
        return self.net(h).reshape(x.shape[0], self.seq_len, self.vocab)


@functools.lru_cache(maxsize=16)  # a pure function of its arguments, called by every block at every step
def rotary_tables(length: int, head_dim: int, base: float = 10000.0) -> tuple[Tensor, Tensor]:
    """cos, sin: (L, head_dim / 2) of the rotary position embedding, angle_{p,i} = p / base^(2i / head_dim)."""
    with torch.inference_mode(False):  # cached: ordinary tensors even when first asked for while sampling
        freqs = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
        angles = torch.arange(length, dtype=torch.float64)[:, None] * freqs[None]
        return angles.cos().float(), angles.sin().float()


def rotate(x: Tensor, cos: Tensor, sin: Tensor) -> Tensor:
    """x: (B, H, L, d) with its feature pairs (x_i, x_{i + d/2}) rotated by the angles of positions 0..L-1."""
    a, b = x.chunk(2, dim=-1)
    return torch.cat([a * cos - b * sin, a * sin + b * cos], dim=-1)


class TransformerBlock(nn.Module):
    """Pre-norm self-attention and MLP on h: (B, L, D), each norm shifted and scaled and each branch
    gated by the conditioning c: (B, D) (adaLN-zero: the gates start at 0). With `rope`, queries and
    keys are rotated by their positions (attention then sees relative offsets)."""

    def __init__(self, dim: int, heads: int, causal: bool = False, rope: bool = False):
        super().__init__()
        self.heads, self.causal, self.rope = heads, causal, rope
        self.norm1 = nn.LayerNorm(dim, elementwise_affine=False)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, elementwise_affine=False)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(approximate="tanh"), nn.Linear(4 * dim, dim))
        self.modulation = nn.Linear(dim, 6 * dim)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, h: Tensor, c: Tensor) -> Tensor:
        b, length, dim = h.shape
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(c)[:, None].chunk(6, dim=-1)
        a = self.norm1(h) * (1 + scale1) + shift1
        q, k, v = self.qkv(a).reshape(b, length, 3, self.heads, dim // self.heads).permute(2, 0, 3, 1, 4)
        if self.rope:
            cos, sin = rotary_tables(length, dim // self.heads)
            cos, sin = cos.to(q.device, q.dtype), sin.to(q.device, q.dtype)
            q, k = rotate(q, cos, sin), rotate(k, cos, sin)
        att = F.scaled_dot_product_attention(q, k, v, is_causal=self.causal).transpose(1, 2).reshape(b, length, dim)
        h = h + (1 + gate1) * self.proj(att)
        m = self.norm2(h) * (1 + scale2) + shift2
        return h + (1 + gate2) * self.mlp(m)


class TokenTransformer(nn.Module):
    """x: (B, L) tokens, t: (B,), y: (B,) or None -> logits (B, L, V).

    Token embeddings of width `dim`, `layers` bidirectional blocks of `heads` heads conditioned on
    the time (plus class) embedding, a final modulated norm and a linear head. Positions enter as
    rotary embeddings of queries and keys (`positions="rope"`) or as learnt vectors added to the
    token embeddings (`"learned"`).
    """

    def __init__(self, input_vocab: int, vocab: int, seq_len: int, dim: int = 256, layers: int = 4, heads: int = 4, num_classes: int = 0, causal: bool = False, positions: str = "rope"):
        super().__init__()
        if dim % heads:
            raise FlowmatchError(f"transformer: embed-dim {dim} must be a multiple of heads {heads}")
        if positions not in POSITIONS:
            raise FlowmatchError(f"transformer: unknown positions {positions!r}; choose one of {', '.join(POSITIONS)}")
        self.input_vocab, self.vocab, self.seq_len, self.num_classes = input_vocab, vocab, seq_len, num_classes
        rope = positions == "rope"
        if rope and (dim // heads) % 2:
            raise FlowmatchError(f"transformer: rotary positions pair a head's features, so embed-dim / heads must be even (got {dim} / {heads})")
        self.token_embed = nn.Embedding(input_vocab, dim)
        self.pos_embed = None if rope else nn.Parameter(torch.randn(seq_len, dim) * 0.02)
        self.time_embed = TimeEmbedding(min(dim, 128), dim, scale=TOKEN_TIME_SCALE)
        self.class_embed = ClassEmbedding(num_classes, dim) if num_classes else None
        self.blocks = nn.ModuleList(TransformerBlock(dim, heads, causal, rope) for _ in range(layers))
        self.norm = nn.LayerNorm(dim, elementwise_affine=False)
        self.final_modulation = nn.Linear(dim, 2 * dim)
        nn.init.zeros_(self.final_modulation.weight)
        nn.init.zeros_(self.final_modulation.bias)
        self.head = nn.Linear(dim, vocab)

    def forward(self, x: Tensor, t: Tensor, y: Tensor | None = None) -> Tensor:
        _check_tokens(x, self.seq_len, self.input_vocab)
        c = self.time_embed(t)
        if self.class_embed is not None:
            c = c + self.class_embed(y, x.shape[0])
        c = F.silu(c)
        h = self.token_embed(x) if self.pos_embed is None else self.token_embed(x) + self.pos_embed
        for block in self.blocks:
            h = block(h, c)
        shift, scale = self.final_modulation(c)[:, None].chunk(2, dim=-1)
        return self.head(self.norm(h) * (1 + scale) + shift)
