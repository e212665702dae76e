"""Evaluation metrics for the assistant."""
