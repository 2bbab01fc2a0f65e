"""The documentation site: ``make docs`` (generate, then ``mkdocs build --strict``) and
``make docs-check`` (the headless-browser check)."""
