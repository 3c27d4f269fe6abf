"""Building replies and handing them to SMTP.

A reply's Message-ID carries the outbox key (``<sb-KEY@domain>``): the Sent folder
is searched for it before sending, and when our own mail comes back in a pull the
key in its Message-ID tells the core which outbox row it confirms.

:func:`smtp_deliver` returns the moment the server accepted the DATA, with the
session still open: the core records the delivery before QUIT is even sent.

Everything copied from the customer's mail into our headers (Subject, the ids in
In-Reply-To and References, the display name) is cleaned first: no escape, control
or invisible character of theirs travels in a mail we send.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from providers.base import AuthError, OptionError, PermanentError, TransientError
from providers.imap.connection import Login, network_error
from providers.text import clean_line

_KEY_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
_OUR_ID = re.compile(r"^sb(x?)-([A-Za-z0-9_.-]+)@")
# A msg-id as RFC 5322 allows it: printable ASCII without brackets or spaces, one "@".
_MSG_ID = re.compile(r"[!-;=?A-~]{1,250}@[!-;=?A-~]{1,250}")


def message_id_for_key(key: str, domain: str) -> str:
    """Our Message-ID (without brackets) for an outbox key; reversible by :func:`key_from_message_id`."""
    if _KEY_SAFE.match(key):
        return f"sb-{key}@{domain}"
    return f"sbx-{key.encode('utf-8').hex()}@{domain}"  # keys with other characters travel hex-encoded


def key_from_message_id(message_id: str) -> str | None:
    m = _OUR_ID.match(message_id or "")
    if not m or message_id.startswith("sb-synthetic-"):
        return None
    if m.group(1):
        try:
            return bytes.fromhex(m.group(2)).decode("utf-8")
        except ValueError:
            return None
    return m.group(2)


def reply_subject(subject: str) -> str:
    """``Re: subject`` with exactly one Re:, whatever prefixes the subject had."""
    base = re.sub(r"^\s*((re|aw|sv|antw)\s*(\[\d+\])?\s*:\s*)+", "", clean_line(subject), flags=re.IGNORECASE).strip()
    return f"Re: {base}" if base else "Re: your message"


def safe_msg_id(value: str | None) -> str | None:
    """``value`` if it is a well-formed msg-id (no brackets), else None: a customer's
    header never brings an escape or an invisible character into ours."""
    value = (value or "").strip().strip("<>")
    return value if _MSG_ID.fullmatch(value) else None


def parse_from(value: str, account: str) -> tuple[str, str]:
    name, addr = parseaddr(value or "")
    if not addr or "@" not in addr:
        raise OptionError(f"account {account!r}: option 'from' is {value!r}, not an address",
                          fix='write it like from = "Support <support@example.com>"')
    return name, addr


def build_reply(*, key: str, from_name: str, from_addr: str, to_addr: str, to_name: str, subject: str, text: str,
                parent_id: str | None, parent_refs: list[str], thread_id: str,
                when: datetime | None = None) -> tuple[EmailMessage, str]:
    """The reply as a MIME message and its Message-ID (without brackets)."""
    domain = from_addr.rsplit("@", 1)[-1]
    mid = message_id_for_key(key, domain)
    msg = EmailMessage()
    msg["From"] = formataddr((clean_line(from_name), from_addr))
    msg["To"] = formataddr((clean_line(to_name), clean_line(to_addr)))
    msg["Subject"] = reply_subject(subject)
    msg["Date"] = format_datetime(when or datetime.now(timezone.utc))
    msg["Message-ID"] = f"<{mid}>"
    parent_id = safe_msg_id(parent_id)
    if parent_id:
        msg["In-Reply-To"] = f"<{parent_id}>"
        refs = [r for r in map(safe_msg_id, parent_refs) if r and r != parent_id][-20:] + [parent_id]
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    msg["X-Switchboard-Thread"] = clean_line(thread_id)  # our own id (t-<hex>), read back by the pull
    msg["Auto-Submitted"] = "no"
    msg.set_content(text)
    return msg, mid


def smtp_deliver(msg: EmailMessage, *, host: str, port: int, security: str, login: Login | None, timeout: float,
                 account: str) -> smtplib.SMTP:
    """Send one message and return the moment the server accepted its DATA.

    The session is handed back still open: the caller records the delivery first and
    then ends it with :func:`smtp_quit`, so a slow or lost QUIT cannot make a delivered
    reply look unsent. AuthError, TransientError or PermanentError before acceptance.
    """
    smtp = smtp_session(host=host, port=port, security=security, login=login, timeout=timeout, account=account)
    with _ended_on_failure(smtp, host, port, timeout):
        try:
            smtp.send_message(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentError(f"SMTP server {host} refused the recipient(s) "
                                 f"{', '.join(exc.recipients)}", fix="check the customer's address") from None
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentError(f"SMTP server {host} rejected the message ({exc.smtp_code} {_reason(exc)})",
                                     fix="read the reason; fix the address or the content and send again") from None
            raise TransientError(f"SMTP server {host} deferred the message ({exc.smtp_code} {_reason(exc)})",
                                 fix="it will be retried") from None
    return smtp


def smtp_session(*, host: str, port: int, security: str, login: Login | None, timeout: float,
                 account: str) -> smtplib.SMTP:
    """Connect, greet, upgrade to TLS as configured and log in; the open session, or one clean error."""
    context = ssl.create_default_context()
    try:
        if security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
    except BaseException as exc:  # noqa: BLE001
        raise network_error(exc, "SMTP", host, port, timeout) from None
    with _ended_on_failure(smtp, host, port, timeout):
        try:
            smtp.ehlo()
            if security == "starttls":
                smtp.starttls(context=context)
                smtp.ehlo()
            if login is not None:
                _authenticate(smtp, login, host, account)
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthError(f"account {account!r}: SMTP server {host} refused the login ({_reason(exc)})",
                            fix=f"check smtp_username; store the right password with: "
                                f"switchboard accounts add {account}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise TransientError(f"SMTP server {host}: {exc}",
                                 fix="check smtp_security (starttls needs server support)") from None
    return smtp


@contextmanager
def _ended_on_failure(smtp: smtplib.SMTP, host: str, port: int, timeout: float) -> Iterator[None]:
    """Any failure inside ends the session; a socket or SMTP error the block did not name is a network error."""
    try:
        yield
    except BaseException as exc:
        smtp_quit(smtp)
        if isinstance(exc, (smtplib.SMTPException, OSError)):
            raise network_error(exc, "SMTP", host, port, timeout) from None
        raise


def smtp_quit(smtp: smtplib.SMTP | None) -> None:
    """End a session politely if the server answers, else just close it."""
    if smtp is None:
        return
    try:
        smtp.quit()
    except Exception:
        try:
            smtp.close()
        except Exception:
            pass


def smtp_check(*, host: str, port: int, security: str, login: Login | None, timeout: float, account: str) -> None:
    """Connect and log in, send nothing, end the session."""
    smtp_quit(smtp_session(host=host, port=port, security=security, login=login, timeout=timeout, account=account))


def _authenticate(smtp: smtplib.SMTP, login: Login, host: str, account: str) -> None:
    if login.token is not None:
        blob = f"user={login.username}\x01auth=Bearer {login.token}\x01\x01"
        smtp.auth("XOAUTH2", lambda challenge=None: blob)
    else:
        smtp.login(login.username, login.password or "")


def _reason(exc: smtplib.SMTPResponseException) -> str:
    err = exc.smtp_error
    text = err.decode("utf-8", "replace") if isinstance(err, bytes) else str(err)
    return " ".join(text.split())[:160]
