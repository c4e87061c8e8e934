"""Synthetic fleets and the benchmark harnesses."""
