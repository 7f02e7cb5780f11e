"""Kundröst benchmarks: `python -m bench [NAME...]` (see bench/registry.py, docs/performance.md)."""
