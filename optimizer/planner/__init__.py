"""The library entry point: scenario in, plan out (LP paths and whole-rack plans)."""
