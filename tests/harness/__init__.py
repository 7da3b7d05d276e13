"""Reusable pieces for tests and benchmarks: real PostgreSQL, network namespaces."""
