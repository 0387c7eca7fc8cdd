"""Account flows in a real browser, in English and Russian: sign-out with "Keep me signed in",
password change, an email address, password reset through a real SMTP server; axe on the pages.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from support import smtp_server

PASSWORD = "correct horse battery"
CHANGED = "a changed passphrase"
RESET = "a passphrase from the mail"
TEXT = {
    "en-US": {
        "changed": "Your password was changed. Every other device was signed out.",
        "sent": "If an account has that verified address",
        "confirmed": "Your email address is confirmed.",
        "reset": "Your password was changed. Sign in with the new one.",
    },
    "ru-RU": {
        "changed": "Пароль изменён. На всех остальных устройствах выполнен выход.",
        "sent": "Если у какой-либо учётной записи есть этот подтверждённый адрес",
        "confirmed": "Адрес электронной почты подтверждён.",
        "reset": "Пароль изменён. Войдите с новым паролем.",
    },
}


@pytest.fixture
def mail(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    with smtp_server() as (port, messages):
        monkeypatch.setenv("MAIL_URL", f"smtp://127.0.0.1:{port}")
        yield messages


def next_mail_link(messages: list[Any], count: int) -> str:
    deadline = time.monotonic() + 10
    while len(messages) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(messages) >= count, "no mail arrived"
    match = re.search(r"https?://\S+/account/\S+", messages[count - 1].get_content())
    assert match
    return match.group(0)


def fill(page: Page, values: dict[str, str]) -> None:
    for field_id, value in values.items():
        page.locator(f"#{field_id}").fill(value)
    page.locator("main form.auth-form button[type=submit]").click()


def signed_in(page: Page) -> bool:
    page.goto("/")
    return page.locator("form[action='/logout']").count() == 1


def check_axe(page: Page, axe_source: str, problems: list[str]) -> None:
    page.add_script_tag(content=axe_source)
    result = page.evaluate("async () => await axe.run(document)")
    assert len(result["passes"]) > 10
    for violation in result["violations"]:
        if violation["impact"] in {"serious", "critical"}:
            problems.append(f"{page.url}: {violation['id']} ({violation['impact']})")


@pytest.mark.parametrize("locale", ["en-US", "ru-RU"])
def test_account_flows(browser, mail: list[Any], request, axe_source: str, locale: str) -> None:
    server = request.getfixturevalue("server")  # started after MAIL_URL is set
    text = TEXT[locale]
    context = browser.new_context(base_url=server, locale=locale, bypass_csp=True)
    page = context.new_page()
    page.set_default_timeout(10_000)
    problems: list[str] = []

    page.goto("/users/new")
    fill(page, {"username": "anna", "password": PASSWORD, "confirm": PASSWORD})
    page.locator("form[action='/logout'] button").click()

    # Sign in with "Keep me signed in", then sign out: nothing signs the browser in again.
    page.goto("/login")
    page.locator("#username").fill("anna")
    page.locator("#password").fill(PASSWORD)
    page.locator("#remember").check()
    page.locator("main form.auth-form button[type=submit]").click()
    assert any(c["name"] == "remember_token" for c in context.cookies())
    assert signed_in(page)
    page.locator("form[action='/logout'] button").click()
    assert not any(c["name"] == "remember_token" for c in context.cookies())
    assert not signed_in(page)
    page.reload()
    assert not signed_in(page)

    # Password change.
    page.goto("/login")
    fill(page, {"username": "anna", "password": PASSWORD})
    page.goto("/account/password")
    check_axe(page, axe_source, problems)
    fill(page, {"current": PASSWORD, "password": CHANGED, "confirm": CHANGED})
    expect(page.locator(".flash-success")).to_contain_text(text["changed"])
    check_axe(page, axe_source, problems)  # the profile, with its devices

    # An email address, confirmed by the link in the mail.
    page.goto("/account/email")
    check_axe(page, axe_source, problems)
    fill(page, {"email": "anna@example.org", "current": CHANGED})
    page.goto(next_mail_link(mail, 1))
    expect(page.locator(".flash-success")).to_contain_text(text["confirmed"])
    page.goto("/account/delete")
    check_axe(page, axe_source, problems)

    # Forgotten password: reset through the mail.
    page.locator("form[action='/logout'] button").click()
    page.goto("/login")
    page.locator("a[href='/account/reset']").click()
    check_axe(page, axe_source, problems)
    fill(page, {"email": "anna@example.org"})
    expect(page.locator(".flash-success")).to_contain_text(text["sent"])
    link = next_mail_link(mail, 2)
    page.goto(link)
    check_axe(page, axe_source, problems)
    fill(page, {"password": RESET, "confirm": RESET})
    expect(page.locator(".flash-success")).to_contain_text(text["reset"])
    page.goto(link)  # used once: dead now
    check_axe(page, axe_source, problems)
    fill_login = {"username": "anna", "password": RESET}
    page.goto("/login")
    fill(page, fill_login)
    assert signed_in(page)
    context.close()
    assert problems == []
