"""Example stacks: each composes the library's public constructs into one real scenario.

One module per stack; import the module you need (``from stacks.ingestion_stack import
IngestionStack``) so that loading one stack does not import every other pattern.
"""
