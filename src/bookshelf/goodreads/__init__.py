"""Goodreads library import and export for a reader's shelves."""
