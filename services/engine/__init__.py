"""The shared core every process uses: schemas, connectors, transformers, planning, copying,
generation and inspection. No Temporal, no metadata store, no worker: the API, the sync
worker, the ML worker and bench/ build on it (tests/unit/test_layering.py keeps it so)."""
