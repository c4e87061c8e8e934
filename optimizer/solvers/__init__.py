"""Solver backends (HiGHS, OR-Tools, PuLP/CBC) and the one result type they return."""
