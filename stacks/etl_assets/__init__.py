"""Job scripts shipped as assets by the ETL example stacks (Glue, SageMaker, Batch).

Each script keeps its logic in plain functions (``sales_transforms``, ``preprocess``,
``process_object``) so tests, and the offline harness's job fakes, run the same code.
"""
