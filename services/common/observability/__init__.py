"""Metrics and traces shared by every process: what each records and where it is served."""
