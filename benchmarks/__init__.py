"""Benchmarks: `make bench`. Results are ratios measured within one run, never absolute times."""
