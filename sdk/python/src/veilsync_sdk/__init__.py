"""Veilsync's typed Python client."""
