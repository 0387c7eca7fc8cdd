"""Bounded soak and fault runs against real gunicorn, PostgreSQL, Redis and nginx."""
