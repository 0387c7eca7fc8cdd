"""Mixed load (HTML forms with CSRF, JSON API) with a ledger of every acknowledged write."""

from __future__ import annotations

import itertools
import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field

import psycopg
import requests

from soak.servers import PASSWORD

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DELETED = object()


@dataclass
class Ledger:
    """What the server acknowledged, per book id, and writes whose outcome is unknown."""

    state: dict[int, object] = field(default_factory=dict)  # id -> title, or DELETED
    uncertain_ids: set[int] = field(default_factory=set)  # an unacknowledged write touched it
    created_titles: dict[str, int] = field(default_factory=dict)  # acknowledged creates
    unacked_titles: set[str] = field(default_factory=set)  # creates with no answer
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Stats:
    counts: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    server_errors: Counter[str] = field(default_factory=Counter)  # "503 api", "500 html", ...
    tracebacks: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    timeline: list[tuple[float, bool]] = field(default_factory=list)  # (time, ok)

    def record(self, kind: str, response: requests.Response | None, error: str | None) -> bool:
        ok = error is None and response is not None and response.status_code < 500
        with self.lock:
            self.counts[kind] += 1
            self.timeline.append((time.monotonic(), ok))
            if error is not None:
                self.errors[error] += 1
            elif response is not None and response.status_code >= 500:
                self.errors[f"HTTP {response.status_code}"] += 1
                channel = "api" if "/api/" in (response.request.url or "") else "html"
                self.server_errors[f"{response.status_code} {channel}"] += 1
                if "Traceback" in response.text:
                    self.tracebacks += 1
            elif response is not None and response.status_code >= 400:
                self.errors[f"HTTP {response.status_code}"] += 1
        return ok


class Actor(threading.Thread):
    """One person: a browser session (forms + CSRF) and an API token; changes only own books."""

    def __init__(
        self, n: int, base_urls: list[str], username: str, token: str, ledger: Ledger, stats: Stats
    ) -> None:
        super().__init__(daemon=True)
        self.n, self.base_urls, self.username, self.token = n, base_urls, username, token
        self.ledger, self.stats = ledger, stats
        self.random = random.Random(n)  # noqa: S311  (a reproducible mix per actor)
        self.stop_at = 0.0
        self.mine: list[int] = []
        self.counter = itertools.count()
        self.session = requests.Session()
        self.csrf = ""

    @property
    def base(self) -> str:
        return self.base_urls[self.n % len(self.base_urls)]

    def call(self, kind: str, method: str, path: str, **kwargs: object) -> requests.Response | None:
        kwargs.setdefault("timeout", 10)
        kwargs.setdefault("allow_redirects", False)
        try:
            response = self.session.request(method, self.base + path, **kwargs)  # type: ignore[arg-type]
        except requests.Timeout:
            self.stats.record(kind, None, "timeout")
            return None
        except requests.ConnectionError:
            self.stats.record(kind, None, "connection error")
            return None
        self.stats.record(kind, response, None)
        return response

    def sign_in(self) -> None:
        for _ in range(50):
            page = self.call("sign-in", "GET", "/login")
            if page is not None and page.status_code == 200:
                self.csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
                data = {"username": self.username, "password": PASSWORD, "csrf_token": self.csrf}
                done = self.call("sign-in", "POST", "/login", data=data)
                if done is not None and done.status_code == 302:
                    page = self.call("sign-in", "GET", "/books/new")
                    if page is not None and page.status_code == 200:
                        self.csrf = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
                        return
            time.sleep(0.2)
        raise RuntimeError(f"{self.username} could not sign in")

    def run(self) -> None:
        while time.monotonic() < self.stop_at:
            self.step()

    def step(self) -> None:
        roll = self.random.random()
        api = self.random.random() < 0.5
        if roll < 0.45 or (not self.mine and roll < 0.55):
            self.read()
        elif roll < 0.6:
            self.search()
        elif roll < 0.8 or not self.mine:
            self.create(api)
        elif roll < 0.93:
            self.update(api)
        else:
            self.delete(api)

    def read(self) -> None:
        path = self.random.choice(["/", "/books", "/api/v1/books", "/healthz"])
        if self.mine and self.random.random() < 0.5:
            path = f"/books/{self.random.choice(self.mine)}"
        self.call("read", "GET", path)

    def search(self) -> None:
        word = self.random.choice(["soak", "title", "war", "peace", "книга"])
        if self.random.random() < 0.5:
            self.call("search", "GET", "/search", params={"term": word})
        else:
            self.call("search", "GET", "/api/v1/books", params={"q": word})

    def new_title(self) -> str:
        # Unique across runs and phases: a duplicate in the table means a write was repeated.
        return f"soak a{self.n} n{next(self.counter)} {uuid.uuid4().hex[:10]}"

    def create(self, api: bool) -> None:
        title = self.new_title()
        book_id = None
        if api:
            body = {"title": title, "author": "Soak", "pages_num": 100}
            response = self.call("create", "POST", "/api/v1/books", json=body, headers=self.auth)
            if response is not None and response.status_code == 201:
                book_id = response.json()["id"]
        else:
            data = {"title": title, "author": "Soak", "pages_num": "100", "csrf_token": self.csrf}
            response = self.call("create", "POST", "/books", data=data)
            if response is not None and response.status_code == 302:
                book_id = int(response.headers["Location"].rsplit("/", 1)[1])
        with self.ledger.lock:
            if book_id is None:
                self.ledger.unacked_titles.add(title)
            else:
                self.ledger.state[book_id] = title
                self.ledger.created_titles[title] = book_id
                self.mine.append(book_id)

    def update(self, api: bool) -> None:
        book_id = self.random.choice(self.mine)
        title = self.new_title()
        if api:
            response = self.call(
                "update",
                "PATCH",
                f"/api/v1/books/{book_id}",
                json={"title": title},
                headers=self.auth,
            )
            acked = response is not None and response.status_code == 200
        else:
            data = {"title": title, "_method": "PATCH", "csrf_token": self.csrf}
            response = self.call("update", "POST", f"/books/{book_id}", data=data)
            acked = response is not None and response.status_code == 303
        with self.ledger.lock:
            if acked:
                self.ledger.state[book_id] = title
            else:
                self.ledger.uncertain_ids.add(book_id)

    def delete(self, api: bool) -> None:
        book_id = self.mine.pop(self.random.randrange(len(self.mine)))
        if api:
            response = self.call("delete", "DELETE", f"/api/v1/books/{book_id}", headers=self.auth)
            acked = response is not None and response.status_code == 204
        else:
            data = {"_method": "DELETE", "csrf_token": self.csrf}
            response = self.call("delete", "POST", f"/books/{book_id}", data=data)
            acked = response is not None and response.status_code == 303
        with self.ledger.lock:
            if acked:
                self.ledger.state[book_id] = DELETED
            else:
                self.ledger.uncertain_ids.add(book_id)

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def run_load(
    actors: list[Actor], seconds: float, during: list[tuple[float, object]] | None = None
) -> None:
    """Run every actor for `seconds`; call each `during` action at its offset (in this thread)."""
    start = time.monotonic()
    for actor in actors:
        actor.stop_at = start + seconds
        actor.start()
    for offset, action in sorted(during or [], key=lambda item: item[0]):
        time.sleep(max(0.0, start + offset - time.monotonic()))
        action()  # type: ignore[operator]
    for actor in actors:
        actor.join(seconds + 30)


@dataclass
class Verdict:
    acknowledged: int
    lost: list[str]
    duplicated: list[str]
    uncertain: int


def verify(database_url: str, ledger: Ledger) -> Verdict:
    """Every acknowledged write is in the database; no title was stored twice."""
    with psycopg.connect(database_url) as conn:
        rows = dict(conn.execute("SELECT id, title FROM books").fetchall())
        per_title = Counter(title for title in rows.values())
    lost = []
    for book_id, expected in ledger.state.items():
        if book_id in ledger.uncertain_ids:
            continue  # a later write was sent but not answered: either outcome is correct
        if expected is DELETED:
            if book_id in rows:
                lost.append(f"book {book_id}: acknowledged delete, still there")
        elif rows.get(book_id) != expected:
            lost.append(f"book {book_id}: expected {expected!r}, found {rows.get(book_id)!r}")
    duplicated = [t for t, n in per_title.items() if n > 1]
    acknowledged = len(ledger.state)
    return Verdict(acknowledged, lost, duplicated, len(ledger.uncertain_ids))
