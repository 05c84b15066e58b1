"""Temporal activities and the provider clients they use."""
