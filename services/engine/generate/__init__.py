"""Filling tables with generated rows: values from row ordinals, default generators."""
