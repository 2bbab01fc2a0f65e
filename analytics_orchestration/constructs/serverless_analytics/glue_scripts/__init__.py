"""Glue job scripts shipped as assets (each runs on its own in Glue)."""
