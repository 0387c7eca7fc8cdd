"""The templates' url_for, remembered: every page builds the same navigation links again.

Flask's url_for looks up the request's adapter, applies URL defaults and runs the rule's
converters for every call; a page makes about twenty calls, most of them identical on every
request. A link's path depends only on the app's URL map, the endpoint, its values and the
script root the app is mounted under, so those are the cache key. Anything else (no request,
a blueprint-relative endpoint, `_external` and the other underscore options, values that are
not plain strings, integers or None) goes to Flask's url_for as before. A None value is
left out of the link by Werkzeug, so links with one (a search's unset filters) are the same
for the same values and are remembered too.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask import current_app, has_request_context, request, url_for
from werkzeug.routing import Map

PLAIN = (str, int, type(None))


# A link costs the cache about 340 bytes: 4,096 of them held 1.4 MB in every worker after a
# long run, nearly all of them the five links of each book page seen once. What pages repeat
# (the navigation, a list's or a search's few dozen links) fits in a quarter of that.
@lru_cache(maxsize=1024)
def _built(
    _url_map: Map, _script_root: str, endpoint: str, values: tuple[tuple[str, Any], ...]
) -> str:
    return url_for(endpoint, **dict(values))


def template_url_for(endpoint: str, **values: Any) -> str:
    if (
        has_request_context()
        and not endpoint.startswith(".")
        and all(type(v) in PLAIN and not k.startswith("_") for k, v in values.items())
    ):
        key = tuple(values.items())  # in the order given: it is the query string's order
        return _built(current_app.url_map, request.script_root, endpoint, key)
    return url_for(endpoint, **values)
