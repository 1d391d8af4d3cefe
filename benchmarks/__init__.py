"""Benchmarks: scripts that print measured figures beside a reference measured in the same run (see README.md)."""
