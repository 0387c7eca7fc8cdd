"""Benchmark harness for bookshelf (`make bench`); never imported by the app or the tests."""
