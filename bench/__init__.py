"""Benchmarks: ``python -m bench [NAME ...] [--quick]``. See README, "Benchmarks"."""
