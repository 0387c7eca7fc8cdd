"""Baseline (c): Flask answering "Hello, World!", no extension, no database.

What a Flask request costs by itself (routing, contexts, a Response): the floor for
`/healthz`, which adds the app's hooks and one database round trip.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
