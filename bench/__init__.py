"""Benchmark harness of the portal (not part of the test suite): see bench/README.md."""
