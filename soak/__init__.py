"""Issue 9: bounded soak and fault runs against real gunicorn, PostgreSQL, Redis and nginx."""
