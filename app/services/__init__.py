"""Business logic: plain functions over models, no Flask request objects."""
