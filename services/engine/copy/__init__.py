"""Copying tables: the per-table copy loop, readying and finishing destinations, checking that
destination tables fit, reading ahead of the writer."""
