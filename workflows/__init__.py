"""Temporal workflow definitions (deterministic: no I/O, clocks or randomness)."""
