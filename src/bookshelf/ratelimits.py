"""Flask-Limiter, bound so that only the blueprints with a limit pay for it.

`Limiter.init_app` hooks a limit check, a header writer and a context reset onto every
request of the app. Bookshelf limits three things: the whole API (a blueprint limit, checked by
that before-request hook), and sign-in and password-reset requests (view decorators, which
check by themselves; the header hook writes their Retry-After). Every other page would run
the limiter's code only to find that no limit applies, so its hooks go on those blueprints
alone: the library's own functions, first among each blueprint's hooks. The app-wide hooks
registered after the limiter's (the over-long URL check) now come before the check: an
over-long API address gets its 414 without counting against the limit.
"""

from __future__ import annotations

from flask import Flask

from bookshelf.extensions import limiter

# A limit on a view or blueprint outside these is not checked (blueprint limits) or gets no
# rate-limit headers (view limits): tests/bookshelf/test_rate_limit_hooks.py fails for it.
RATE_LIMITED_BLUEPRINTS = ("api", "auth")


def init_rate_limits(app: Flask) -> None:
    """Call before the blueprints are registered: their own hooks then run after the check."""
    registries = (app.before_request_funcs, app.after_request_funcs, app.teardown_request_funcs)
    app_wide = [list(registry.get(None, ())) for registry in registries]
    limiter.init_app(app)  # registers nothing while RATELIMIT_ENABLED is false
    for registry, before in zip(registries, app_wide, strict=True):
        added = [func for func in registry.get(None, ()) if func not in before]
        if not added:
            continue
        registry[None] = before
        for name in RATE_LIMITED_BLUEPRINTS:
            registry.setdefault(name, [])[:0] = added
