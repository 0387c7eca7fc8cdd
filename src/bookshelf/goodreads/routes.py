"""Import (upload, preview, run with progress, summary) and export of a reader's shelves."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flask import (
    Response,
    current_app,
    redirect,
    render_template,
    request,
    stream_template,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge

from bookshelf.goodreads import bp, uploads
from bookshelf.goodreads.csvfile import MAX_FILE_BYTES, GoodreadsFileError, read_rows
from bookshelf.goodreads.forms import ConfirmForm, UploadForm

if TYPE_CHECKING:
    from bookshelf.goodreads.importer import ImportSummary

UNPROCESSABLE = 422


@bp.get("/my-books/import")
@login_required
def upload_form() -> str:
    return render_template("goodreads/upload.html", form=UploadForm())


def refuse(form: UploadForm, message: str) -> tuple[str, int]:
    form.file.errors = [message]
    return render_template("goodreads/upload.html", form=form), UNPROCESSABLE


@bp.url_value_preprocessor
def allow_large_upload(endpoint: str | None, values: dict | None) -> None:
    """The export file may exceed the site's form limit. Set before any hook reads the form
    (URL preprocessors run before the request hooks, such as the CSRF check)."""
    if endpoint == "goodreads.preview":
        request.max_content_length = MAX_FILE_BYTES + 64 * 1024  # the file and the form


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge) -> tuple[str, int]:
    limit = MAX_FILE_BYTES // (1024 * 1024)
    form = UploadForm(formdata=None)
    form.file.errors = [_("The file is larger than %(num)d MB.", num=limit)]
    return render_template("goodreads/upload.html", form=form), 413


@bp.post("/my-books/import")
@login_required
def preview() -> str | tuple[str, int]:
    """Check the file and show what importing it would do; nothing is written yet."""
    form = UploadForm()
    if not form.validate_on_submit():
        return render_template("goodreads/upload.html", form=form), UNPROCESSABLE
    data = form.file.data.read()
    try:
        rows = read_rows(data)
    except GoodreadsFileError as error:
        return refuse(form, str(error))
    if not rows:
        return refuse(form, _("The file has no books in it."))
    # Imported here: only an import uses it, and it costs every web worker 0.5 MB.
    from bookshelf.goodreads.importer import GoodreadsImport

    summary = GoodreadsImport(current_user.id, rows).run(write=False)
    confirm = ConfirmForm(upload=uploads.keep(current_user.id, data))
    return render_template("goodreads/preview.html", summary=summary, form=confirm)


@dataclass
class Outcome:
    summary: ImportSummary | None = None
    failed: bool = False


@bp.post("/my-books/import/run")
@login_required
def run() -> Response | tuple[str, int]:
    """Import the previewed file, streaming a progress bar; the summary ends the page."""
    form = ConfirmForm()
    data = uploads.load(current_user.id, form.upload.data) if form.validate() else None
    if data is None:
        return refuse(
            UploadForm(formdata=None), _("That upload has expired: choose the file again.")
        )
    user_id = current_user.id
    key = form.upload.data
    rows = read_rows(data)
    outcome = Outcome()

    def steps() -> Iterator[int]:
        """Rows done after each chunk: the import runs while the page is being sent."""
        from bookshelf.goodreads.importer import GoodreadsImport  # see preview()

        job = GoodreadsImport(user_id, rows)
        done = 0
        try:
            for count in job.run_steps(write=True):
                done += count
                yield done
            outcome.summary = job.summary
        except Exception:
            # The page has started: it ends with the failure instead of a summary.
            current_app.logger.exception("Goodreads import failed; rolled back")
            outcome.failed = True
        finally:
            uploads.discard(user_id, key)

    return Response(
        stream_template("goodreads/run.html", steps=steps(), total=len(rows), outcome=outcome)
    )


@bp.post("/my-books/import/cancel")
@login_required
def cancel() -> Response:
    form = ConfirmForm()
    if form.validate():
        uploads.discard(current_user.id, form.upload.data)
    return redirect(url_for("goodreads.upload_form"), code=303)


@bp.get("/my-books/export.csv")
@login_required
def export_as_csv() -> Response:
    from bookshelf.goodreads.export import export_csv  # with the importer: exports are rare

    return Response(
        export_csv(current_user.id),
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="goodreads_library_export.csv"'},
    )


@bp.get("/my-books/export.json")
@login_required
def export_as_json() -> Response:
    from bookshelf.goodreads.export import export_json  # as export_as_csv

    body = json.dumps(export_json(current_user.id), ensure_ascii=False, indent=1)
    return Response(
        body,
        mimetype="application/json",
        headers={"Content-Disposition": 'attachment; filename="my-books.json"'},
    )
