"""Project tooling (not shipped): the documentation site's generator and browser check."""
