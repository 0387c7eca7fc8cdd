"""What a person does, in a real browser: sign up, add, edit, search, read later, delete, leave."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

PASSWORD = "correct horse battery"


def sign_up(page: Page, username: str) -> None:
    page.goto("/users/new")
    page.get_by_label("Username").fill(username)
    page.get_by_label(re.compile(r"^Password")).fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".flash-success")).to_contain_text(f"Welcome, {username}!")


def add_book(page: Page, title: str, author: str, pages: str) -> None:
    page.get_by_role("link", name="Add a book").first.click()
    page.get_by_label("Title").fill(title)
    page.get_by_label("Author").fill(author)
    page.get_by_label("Pages").fill(pages)
    page.get_by_role("button", name="Add book").click()


def test_a_whole_visit(page: Page) -> None:
    sign_up(page, "anna")

    add_book(page, "Мастер и Маргарита", "Михаил Булгаков", "480")
    expect(page.locator(".flash-success")).to_contain_text("“Мастер и Маргарита” was added.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Мастер и Маргарита")
    book_url = page.url

    page.get_by_role("link", name="Edit").click()
    page.get_by_label("Review").fill("Manuscripts don't burn.")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash-success")).to_contain_text("was updated")
    expect(page.locator(".review")).to_have_text("Manuscripts don't burn.")

    for term in ["маргарит", "БУЛГАКОВ", "manuscripts"]:
        page.get_by_label("Search books").fill(term)
        page.get_by_label("Search books").press("Enter")
        expect(page.locator(".book-title")).to_have_text(["Мастер и Маргарита"])
    page.get_by_label("Search books").fill("dickens")
    page.get_by_label("Search books").press("Enter")
    expect(page.locator(".book-title")).to_have_text(["A Tale of Two Cities"])

    # Signed in, the book goes on the reader's own shelves (the cookie list is for visitors).
    page.goto(book_url)
    page.get_by_label("Shelf", exact=True).select_option(label="Want to read")
    page.get_by_role("button", name="Save my shelves").click()
    expect(page.locator(".flash-success")).to_contain_text("is on the shelf “Want to read”")
    page.get_by_role("link", name="My books").click()
    expect(page.locator(".book-title")).to_have_text(["Мастер и Маргарита"])
    page.goto(book_url)
    page.get_by_label("Shelf", exact=True).select_option(label="Not on my shelves")
    page.get_by_role("button", name="Save my shelves").click()
    page.get_by_role("link", name="My books").click()
    expect(page.get_by_text("Your shelves are empty.", exact=False)).to_be_visible()

    page.goto(book_url)
    delete = page.locator("details.confirm")
    expect(delete.get_by_role("button", name="Yes, delete")).to_be_hidden()
    delete.locator("summary").click()  # the confirm step
    delete.get_by_role("button", name="Yes, delete").click()
    expect(page).to_have_url(re.compile(r"/books$"))
    expect(page.locator(".flash-success")).to_contain_text("was deleted")
    expect(page.locator(".book-title")).not_to_contain_text(["Мастер и Маргарита"])

    page.get_by_role("button", name="Sign out").click()
    expect(page.locator(".flash-success")).to_contain_text("You have been signed out.")
    expect(page.get_by_role("link", name="Sign in")).to_be_visible()


def test_a_validation_error_is_shown_inline_and_keeps_the_input(page: Page) -> None:
    sign_up(page, "boris")
    add_book(page, "Dead Souls", "", "0")
    expect(page.locator(".flash-error")).to_be_visible()
    expect(page.get_by_label("Title")).to_have_value("Dead Souls")
    expect(page.get_by_label("Pages")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pages_num-error")).to_have_text("Enter a number from 1 to 100000.")
    expect(page.locator("#author-error")).to_have_text("Fill in this field.")
    expect(page.get_by_label("Author")).to_have_attribute("aria-describedby", "author-error")


def test_flash_messages_can_be_dismissed(page: Page) -> None:
    sign_up(page, "clara")
    flash = page.locator(".flash-success")
    flash.get_by_role("button", name="Dismiss").click()
    expect(flash).to_have_count(0)


def test_switching_to_russian_translates_and_survives_navigation(page: Page) -> None:
    page.goto("/books")
    language = page.get_by_role("navigation", name="Language")
    expect(language.get_by_role("link", name="English")).to_have_attribute("aria-current", "true")
    language.get_by_role("link", name="Русский").click()  # a plain link: no script, no form
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page).to_have_url(re.compile(r"/books"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Книги")
    page.get_by_role("link", name="Список чтения").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Список чтения")
    page.get_by_role("link", name="A Tale of Two Cities").count()
    page.goto("/books/1")
    expect(page.get_by_role("button", name="В список чтения")).to_be_visible()


def test_an_anonymous_visitor_sees_no_edit_buttons(page: Page) -> None:
    page.goto("/books/1")
    expect(page.get_by_role("heading", level=1)).to_have_text("A Tale of Two Cities")
    expect(page.get_by_role("link", name="Edit")).to_have_count(0)
    expect(page.locator("details.confirm")).to_have_count(0)
    page.goto("/books/1/edit")
    expect(page).to_have_url(re.compile(r"/login\?next="))


def test_a_visitor_clears_the_reading_list_only_after_confirming(page: Page) -> None:
    page.goto("/books/1")
    page.get_by_role("button", name="Add to reading list").click()
    expect(page.locator(".flash-success")).to_contain_text("is on your reading list")
    page.get_by_role("link", name="Reading list").click()
    expect(page.locator(".book-title")).to_have_text(["A Tale of Two Cities"])
    clear = page.locator("details.confirm")
    expect(clear.get_by_role("button", name="Yes, clear it")).to_be_hidden()
    clear.locator("summary").click()  # nothing is cleared before the reader confirms
    expect(clear).to_contain_text("Remove 1 book from your reading list?")
    clear.get_by_role("button", name="Yes, clear it").click()
    expect(page.get_by_text("Your reading list is empty.")).to_be_visible()


def test_the_page_works_on_a_phone(browser, server: str) -> None:
    context = browser.new_context(base_url=server, viewport={"width": 375, "height": 740})
    page = context.new_page()
    page.goto("/books")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"horizontal scrolling on a phone: {width}px"
    expect(page.get_by_label("Search books")).to_be_visible()
    context.close()
