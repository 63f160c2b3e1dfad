"""`python -m train verifier`: train the question-pair verifier that reads a user's question together with a
stored FAQ question and gives the chance that the entry answers it (agent/answer/pair_verifier.py).

Why: an everyday paraphrase ("生孩子能休多久" for "产假有多少天？") and a near miss that asks another aspect
("产假工资谁发") are equally close in e5's vectors; a model that reads the two questions together and is trained
on many labelled pairs can tell them apart.

The model is the bundled e5 split in two (the "late interaction" of PreTTR, MacAvaney et al., 2020): its
embeddings and first SPLIT layers, frozen, read each question on its own; the next JOINT layers, initialised
from e5's and trained, read the two together (the stored question's tokens marked by a learned segment
vector); a small head over both questions' pooled states gives the logit. Reading each question alone first
lets the answer path reuse a stored question's lower states, and lets training compute them once per text.
Only the joint layers, the segment vector and the head are shipped (agent/answer/data/pair_verifier.npz).

Data (docs/data-card.md): every `*.jsonl` of groups ({"question", "paraphrases", "near_misses"}) and every
`*.tsv` of pairs (`a<TAB>b<TAB>label`, or PAWS-X's `id<TAB>a<TAB>b<TAB>label`) in the data folders. Groups give
paraphrase/stored positives, near-miss/stored negatives, other stored questions of the same domain as
negatives, and near misses made by swapping a word for another of its kind in the Cilin thesaurus. Groups
are split into training and validation by a hash of their stored question, so the validation figures are on
questions the model never saw.
"""
from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from agent.settings import REPO_ROOT
from train.e5_torch import E5, _Layer

log = logging.getLogger(__name__)

DEFAULT_DATA = REPO_ROOT / "train" / "verifier_data"
WEIGHTS = REPO_ROOT / "agent" / "answer" / "data" / "pair_verifier.npz"
SPLIT = 6  # e5 layers that read each question alone (frozen)
JOINT = 3  # layers after them that read the pair together (trained)
MAX_TOKENS = 48  # per question
VALIDATION_SHARE = 0.15


@dataclass(frozen=True)
class Pair:
    question: str  # what a user asks
    stored: str  # the FAQ question it is read against
    label: int  # 1: the stored entry answers the question
    kind: str  # paraphrase | near_miss | swapped | other_entry | public
    source: str  # the file it came from


def validation_group(stored: str) -> bool:
    return int(hashlib.sha1(stored.encode()).hexdigest(), 16) % 1000 < VALIDATION_SHARE * 1000


def read_pairs(folders: list[Path], seed: int = 0) -> tuple[list[Pair], list[Pair]]:
    """Training and validation pairs from every group and pair file in `folders`."""
    rng = random.Random(seed)
    training: list[Pair] = []
    validation: list[Pair] = []
    for folder in folders:
        for path in sorted(folder.glob("*.jsonl")):
            groups = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            for pair in group_pairs(groups, path.name, rng):
                (validation if validation_group(pair.stored) else training).append(pair)
        for path in sorted(folder.glob("*.tsv")):
            training += tsv_pairs(path)
    return training, validation


def tsv_pairs(path: Path) -> list[Pair]:
    found = []
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.split("\t")]
        if len(cells) == 4 and cells[0].isdigit():  # PAWS-X: id, sentence1, sentence2, label
            cells = cells[1:]
        cells = [c for c in cells if c]
        if len(cells) == 3 and cells[2] in ("0", "1"):
            found.append(Pair(cells[0], cells[1], int(cells[2]), "public", path.name))
    return found


def group_pairs(groups: list[dict], source: str, rng: random.Random) -> list[Pair]:
    """Labelled pairs from groups of one stored question, its paraphrases and its near misses."""
    by_domain: dict[str, list[str]] = {}
    for group in groups:
        by_domain.setdefault(group.get("domain", ""), []).append(group["question"])
    pairs = []
    for group in groups:
        stored = group["question"]
        paraphrases, near_misses = group.get("paraphrases", []), group.get("near_misses", [])
        pairs += [Pair(p, stored, 1, "paraphrase", source) for p in paraphrases]
        pairs += [Pair(n, stored, 0, "near_miss", source) for n in near_misses]
        # A paraphrase read against another paraphrase, as against a similar question of the entry.
        if len(paraphrases) >= 2:
            first, second = rng.sample(paraphrases, 2)
            pairs.append(Pair(first, second, 1, "paraphrase", source))
        if near_misses and paraphrases:
            pairs.append(Pair(rng.choice(near_misses), rng.choice(paraphrases), 0, "near_miss", source))
        others = [q for q in by_domain[group.get("domain", "")] if q != stored]
        for other in rng.sample(others, min(2, len(others))):
            pairs.append(Pair(rng.choice(paraphrases or [stored]), other, 0, "other_entry", source))
        swapped = swapped_word(stored, rng)
        if swapped:
            pairs.append(Pair(swapped, stored, 0, "swapped", source))
    return pairs


def swapped_word(question: str, rng: random.Random) -> str | None:
    """The question with one word replaced by another thing of the same kind in the Cilin thesaurus (年假 ->
    婚假): a near miss made from the question itself. None when no word of it has such a sibling."""
    import jieba

    from agent.text.synonyms import siblings

    words = [w for w in jieba.lcut(question) if len(w) >= 2]
    rng.shuffle(words)
    for word in words:
        options = siblings(word)
        if options:
            return question.replace(word, rng.choice(options), 1)
    return None


class PairModel(torch.nn.Module):
    """e5's lower layers (frozen, one question at a time) under joint layers and a head (trained)."""

    def __init__(self, e5: E5, split: int = SPLIT, joint: int = JOINT):
        super().__init__()
        self.e5, self.split = e5, split
        hidden = e5.file.hidden
        self.joint = torch.nn.ModuleList(_Layer(e5.file, n, hidden, e5.file.ff) for n in range(split, split + joint))
        self.segment = torch.nn.Parameter(torch.zeros(hidden))
        self.head = torch.nn.Sequential(torch.nn.Linear(4 * hidden, 256), torch.nn.Tanh(), torch.nn.Linear(256, 1))

    def lower_states(self, texts: list[str], batch: int = 64) -> dict[str, torch.Tensor]:
        """Each text's states after the frozen layers, computed once (float16 to halve the memory)."""
        encoder, found = self.e5.encoder, {}
        unique = sorted(set(texts), key=len)
        for start in range(0, len(unique), batch):
            chunk = unique[start:start + batch]
            ids = [self.e5.tokenize(t, True, MAX_TOKENS) for t in chunk]
            length = max(map(len, ids))
            tokens = torch.zeros(len(ids), length, dtype=torch.long)
            mask = torch.zeros(len(ids), length, dtype=torch.long)
            for row, sequence in enumerate(ids):
                tokens[row, :len(sequence)], mask[row, :len(sequence)] = torch.tensor(sequence), 1
            with torch.no_grad():
                x = encoder.norm(encoder.word[tokens] + encoder.position[:length][None] + encoder.token_type)
                padding = (1.0 - mask[:, None, None, :].float()) * -1e9
                for layer in encoder.layers[:self.split]:
                    x = layer(x, padding, encoder.heads)
            for row, text in enumerate(chunk):
                found[text] = x[row, :len(ids[row])].half()
        return found

    def forward(self, questions: list[torch.Tensor], stored: list[torch.Tensor]) -> torch.Tensor:
        """Logits for pairs given as lower states (tokens, hidden) each."""
        batch, hidden = len(questions), self.segment.shape[0]
        lq, ls = max(len(q) for q in questions), max(len(s) for s in stored)
        x = torch.zeros(batch, lq + ls, hidden)
        mask = torch.zeros(batch, lq + ls)
        for row, (q, s) in enumerate(zip(questions, stored)):
            x[row, :len(q)], mask[row, :len(q)] = q.float(), 1
            x[row, lq:lq + len(s)], mask[row, lq:lq + len(s)] = s.float() + self.segment, 1
        padding = (1.0 - mask[:, None, None, :]) * -1e9
        for layer in self.joint:
            x = layer(x, padding, self.e5.encoder.heads)
        first, second = mask.clone(), mask.clone()
        first[:, lq:], second[:, :lq] = 0, 0
        u = (x * first[..., None]).sum(1) / first.sum(1, keepdim=True)
        v = (x * second[..., None]).sum(1) / second.sum(1, keepdim=True)
        return self.head(torch.cat([u, v, (u - v).abs(), u * v], -1)).squeeze(-1)

    def export(self, path: Path, manifest: dict) -> None:
        """The trained parts as float16 arrays, under the names agent/answer/pair_verifier.py reads."""
        arrays = {"segment": self.segment.detach().numpy(),
                  "head.0.w": self.head[0].weight.detach().numpy(), "head.0.b": self.head[0].bias.detach().numpy(),
                  "head.2.w": self.head[2].weight.detach().numpy(), "head.2.b": self.head[2].bias.detach().numpy()}
        for number, layer in enumerate(self.joint):
            for name in ("q", "k", "v", "ao", "fi", "fo"):
                linear = getattr(layer, name)
                arrays[f"j{number}.{name}.w"] = linear.weight.detach().numpy()
                arrays[f"j{number}.{name}.b"] = linear.bias.detach().numpy()
            for name, norm in (("aln", layer.attention_norm), ("oln", layer.output_norm)):
                arrays[f"j{number}.{name}.w"] = norm.weight.detach().numpy()
                arrays[f"j{number}.{name}.b"] = norm.bias.detach().numpy()
        path.parent.mkdir(parents=True, exist_ok=True)
        np.savez_compressed(path, **{k: v.astype(np.float16) for k, v in arrays.items()})
        path.with_suffix(".json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                             encoding="utf-8")


def scores(model: PairModel, states: dict[str, torch.Tensor], pairs: list[Pair], batch: int = 64) -> np.ndarray:
    model.eval()
    found = []
    with torch.no_grad():
        for start in range(0, len(pairs), batch):
            chunk = pairs[start:start + batch]
            found.append(torch.sigmoid(model([states[p.question] for p in chunk], [states[p.stored] for p in chunk])))
    return torch.cat(found).numpy() if found else np.zeros(0)


def auc(labels: np.ndarray, values: np.ndarray) -> float | None:
    """ROC AUC, or None where one class is missing."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(labels, values)) if 0 < labels.sum() < len(labels) else None


def measure(model: PairModel, states: dict[str, torch.Tensor], pairs: list[Pair]) -> dict:
    """AUC over all pairs, paraphrase against near miss, and accuracy at 0.5, per set."""
    if not pairs:
        return {}
    values = scores(model, states, pairs)
    labels = np.array([p.label for p in pairs])
    hard = np.array([p.kind in ("paraphrase", "near_miss") for p in pairs])
    return {"pairs": len(pairs), "auc": _rounded(auc(labels, values)),
            "auc_paraphrase_vs_near_miss": _rounded(auc(labels[hard], values[hard])),
            "accuracy": round(float(((values >= 0.5) == labels).mean()), 4)}


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def train(folders: list[Path], out: Path, epochs: float, measure_on: dict[str, list[Pair]], seed: int = 0,
          max_pairs: int | None = None, checkpoint: Path | None = None) -> dict:
    """Train, print progress and validation figures, export to `out`; returns the manifest."""
    random.seed(seed)
    torch.manual_seed(seed)
    training, validation = read_pairs(folders, seed)
    if max_pairs and len(training) > max_pairs:
        training = random.Random(seed).sample(training, max_pairs)
    if not training:
        raise ValueError(f"no training pairs found in {', '.join(map(str, folders))}")
    log.info("%d training pairs (%d positive), %d validation pairs", len(training),
             sum(p.label for p in training), len(validation))
    e5 = E5()
    model = PairModel(e5)
    texts = [t for pairs in (training, validation, *measure_on.values()) for p in pairs for t in (p.question, p.stored)]
    started = time.time()
    states = model.lower_states(texts)
    log.info("lower states of %d texts in %.0f s", len(states), time.time() - started)
    optimiser = torch.optim.AdamW([{"params": model.joint.parameters(), "lr": 4e-5},
                                   {"params": [model.segment, *model.head.parameters()], "lr": 1e-3}],
                                  weight_decay=0.01)
    steps = max(1, int(epochs * len(training) / 32))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=[4e-5, 1e-3], total_steps=steps,
                                                   pct_start=0.1)
    history = []
    order: list[Pair] = []
    for step in range(steps):
        if len(order) < 32:
            order += random.sample(training, len(training))
        chunk, order = order[:32], order[32:]
        model.train()
        logits = model([states[p.question] for p in chunk], [states[p.stored] for p in chunk])
        loss = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.tensor([float(p.label) for p in chunk]))
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if (step + 1) % 100 == 0 or step + 1 == steps:
            figures = measure(model, states, validation)
            history.append({"step": step + 1, "loss": round(float(loss), 4), **figures})
            log.info("step %d/%d loss %.3f validation %s (%.0f s)", step + 1, steps, float(loss), figures,
                     time.time() - started)
            if checkpoint is not None:
                torch.save({"joint": model.joint.state_dict(), "segment": model.segment, "head": model.head.state_dict(),
                            "step": step + 1}, checkpoint)
    manifest = {
        "split": model.split, "joint": len(model.joint), "max_tokens": MAX_TOKENS,
        "data": [str(f.relative_to(REPO_ROOT)) if f.is_relative_to(REPO_ROOT) else f.name for f in folders],
        "files": sorted({p.source for p in training}),
        "training_pairs": len(training), "positives": sum(p.label for p in training), "epochs": epochs,
        "seconds": round(time.time() - started),
        "validation": measure(model, states, validation),
        "measured": {name: measure(model, states, pairs) for name, pairs in measure_on.items()},
        "history": history,
    }
    model.export(out, manifest)
    return manifest
