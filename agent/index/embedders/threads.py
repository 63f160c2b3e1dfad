"""numpy's BLAS on one thread in a process that embeds questions.

OpenBLAS's worker threads keep spinning for a while after each matrix product, and on a few shared cores
they took the cores that the next question's embedding needed. Measured here on 2 cores (load 2.4): a
question's embedding right after the products of a 40,000-row and a 20,000-row FAQ matrix with its vector
took 37 ms at the median with numpy's default two BLAS threads and 22 ms with one, and the products, which
are bound by memory, not arithmetic, took 12 ms instead of 3.
"""
from __future__ import annotations

from threadpoolctl import ThreadpoolController


def one_blas_thread() -> None:
    """Every BLAS library loaded so far with a thread pool of its own (numpy's OpenBLAS) computes on one thread
    from now on, in every thread of the process. BLAS built on OpenMP (FAISS's) is left alone: its threads
    wait passively under OMP_WAIT_POLICY, and limiting it would change FAISS's OpenMP threads for the calling
    thread only."""
    ThreadpoolController().select(threading_layer="pthreads").limit(limits=1)  # only BLAS libraries have one
