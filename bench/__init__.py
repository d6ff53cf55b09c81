"""Benchmarks: ``python -m bench [NAME ...] [--quick]``. Figures: bench/README.md."""
