"""Benchmark scripts (`python -m bench.NAME`) and eval case sets (bench/cases)."""
