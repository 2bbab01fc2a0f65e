"""Streaming analytics: Kinesis Data Streams, DynamoDB Streams and Firehose.

Each module of this package is one streaming pattern built on the foundation builders;
this ``__init__`` re-exports their public API. Add one ``from .module import Name`` line
and the name to ``__all__`` per export.
"""

__all__: list[str] = []
