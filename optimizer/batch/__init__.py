"""Batch runs: sweeps over variants, their workers, comparisons."""
