"""Example stacks: each composes the library's public constructs into one real scenario."""

from .ingestion_stack import IngestionStack

__all__ = ["IngestionStack"]
