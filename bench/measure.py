"""Timing, memory and the machine's bounds, measured inside one process: what every speed figure is made of."""
from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench.corpus import DIMENSION


def timed(function, items, desc: str) -> tuple[list[float], list]:
    """Milliseconds per call, and the results."""
    times, results = [], []
    for item in tqdm(items, desc=desc, unit="q", file=sys.stderr, leave=False):
        started = time.perf_counter()
        results.append(function(item))
        times.append((time.perf_counter() - started) * 1000)
    return times, results


def peak_rss_mb() -> float:
    """The process's high-water RSS. VmHWM, not getrusage: Linux carries the parent's RSS at spawn time
    into a child's ru_maxrss, which would hide a small worker's own peak."""
    return _proc_status_mb("VmHWM") or round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def current_rss_mb() -> float:
    return _proc_status_mb("VmRSS") or peak_rss_mb()


def _proc_status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def load_average() -> list[float] | None:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except OSError:
        return None


def memory_bandwidth_gb_s(megabytes: int) -> float:
    """The fastest rate numpy reads a large float32 array here (see _fastest_read_s)."""
    array = np.ones((megabytes * 2**20 // (4 * DIMENSION), DIMENSION), dtype=np.float32)
    return round(array.nbytes / fastest_read_s(array) / 1e9, 2)


def fastest_read_s(matrix: np.ndarray) -> float:
    """Seconds for the fastest full read of `matrix`: a numpy sum (one thread) or a matrix-vector product
    (BLAS, every core), the best of five each. A flat dense search cannot read its vectors faster."""
    vector = np.ones(matrix.shape[1], dtype=np.float32)
    best = float("inf")
    for read in (matrix.sum, lambda: matrix @ vector):
        for _ in range(5):
            started = time.perf_counter()
            read()
            best = min(best, time.perf_counter() - started)
    return best


def matmul_gflops(n: int = 2048) -> float:
    """The fastest float32 matrix product here, numpy's or torch's (which the embedding model runs on)."""
    import torch

    a = np.random.default_rng(1).standard_normal((n, n), dtype=np.float32)
    b = np.random.default_rng(2).standard_normal((n, n), dtype=np.float32)
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    best = float("inf")
    for multiply in (lambda: a @ b, lambda: ta @ tb):
        for _ in range(5):
            started = time.perf_counter()
            multiply()
            best = min(best, time.perf_counter() - started)
    return round(2 * n**3 / best / 1e9, 1)


def folder_mb(path: Path) -> float:
    """Bytes on disk under `path`, in MiB."""
    return round(sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 2**20, 1)
