"""Schemathesis against the OpenAPI document the app serves: no server errors, no schema lies."""

from __future__ import annotations

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from bookshelf.extensions import db
from bookshelf.models import User
from bookshelf.users.tokens import issue_token
from bookshelf_helpers import add_books, create_account, make_rows

# Bounded so that `make test` stays quick; each operation gets this many valid and this many
# invalid examples, on each database.
EXAMPLES_PER_OPERATION = 40


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_api_conforms_to_its_openapi_document(app: Flask, mode: GenerationMode) -> None:
    owner = create_account(app, "schemathesis")
    add_books(app, make_rows(30, added_by_id=owner))
    with app.app_context():
        _record, token = issue_token(db.session.get(User, owner), "schemathesis")
    headers = {"Authorization": f"Bearer {token}"}
    # Loaded from the live document the app serves, not from a file.
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 7  # every method of books, book and user

    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def check(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers)

        check()
