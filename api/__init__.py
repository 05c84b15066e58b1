"""Herald's HTTP API (FastAPI)."""
