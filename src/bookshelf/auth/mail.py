"""Outgoing mail: the standard library's smtplib behind one function.

smtplib rather than Flask-Mailman: the app sends two kinds of plain-text message to one
recipient, so a dependency (and its Django-style backend layer) would add little; parsing
MAIL_URL and one SMTP conversation fit in this file. Messages are sent from a thread, so the
answer to a reset request takes as long whether or not an account (and so a mail) exists.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

log = logging.getLogger("bookshelf.mail")
SMTP_TIMEOUT = 10


def _deliver(mail_url: str, message: EmailMessage) -> None:
    url = urlsplit(mail_url)
    secure = url.scheme == "smtps"
    port = url.port or (465 if secure else 25)
    host = url.hostname or "localhost"
    try:
        if secure:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                host, port, timeout=SMTP_TIMEOUT, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
        with smtp:
            if not secure and parse_qs(url.query).get("starttls") == ["1"]:
                smtp.starttls(context=ssl.create_default_context())
            if url.username:
                smtp.login(unquote(url.username), unquote(url.password or ""))
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as error:
        # The server's name and the error only: never the message, which holds a secret link.
        log.error("Could not send mail to the SMTP server at %s:%s: %s", host, port, error)


def send_mail(to: str, subject: str, body: str) -> None:
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    mail_url = current_app.config["MAIL_URL"]
    if not mail_url:
        if current_app.config["BOOKSHELF_DEVELOPMENT"] or current_app.testing:
            log.info("MAIL_URL is not set; the message that would be sent:\n%s", message)
        else:
            log.warning("MAIL_URL is not set: a message to a user was not sent.")
        return
    threading.Thread(target=_deliver, args=(mail_url, message), daemon=True).start()
