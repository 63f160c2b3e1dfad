"""`python -m bench.verifier_speed [PAIRS.tsv]`: how long the question-pair verifier takes to read one question
against 1, 2 and 3 stored questions on one BLAS thread (as the app runs it), each question new and its first
stored question not yet cached. Pairs: the first paraphrase of each written FAQ group against its stored question
(train/verifier_data/written_groups_a.jsonl, or another group file)."""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from agent.answer.pair_verifier import PairVerifier
from agent.settings import REPO_ROOT

DEFAULT_GROUPS = REPO_ROOT / "train" / "verifier_data" / "written_groups_a.jsonl"


def main(argv: list[str] | None = None) -> int:
    path = Path((argv or sys.argv[1:] or [str(DEFAULT_GROUPS)])[0])
    groups = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    pairs = [(group["paraphrases"][0], group["question"]) for group in groups][:60]
    verifier = PairVerifier()
    verifier.probabilities("预热", ["预热"])
    with threadpool_limits(1):
        for count in (1, 2, 3):
            times = []
            for question, stored in pairs[:30]:
                started = time.perf_counter()
                verifier.probabilities(question, [stored] + [s for _, s in pairs[30:30 + count - 1]])
                times.append((time.perf_counter() - started) * 1000)
            print(f"{count} stored question(s): p50 {np.percentile(times, 50):.1f} ms, p95 {np.percentile(times, 95):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
