"""Maintenance checks run outside the test suite (`make audit`)."""
