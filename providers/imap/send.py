"""Building replies and handing them to SMTP.

A reply's Message-ID carries the outbox key (``<sb-KEY@domain>``): the Sent folder
is searched for it before sending, and when our own mail comes back in a pull the
key in its Message-ID tells the core which outbox row it confirms.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from datetime import datetime, timezone
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr

from providers.base import AuthError, OptionError, PermanentError, TransientError
from providers.imap.connection import Login, network_error

_KEY_SAFE = re.compile(r"^[A-Za-z0-9_.-]{1,120}$")
_OUR_ID = re.compile(r"^sb(x?)-([A-Za-z0-9_.-]+)@")


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
    base = re.sub(r"^\s*((re|aw|sv|antw)\s*(\[\d+\])?\s*:\s*)+", "", subject or "", flags=re.IGNORECASE).strip()
    return f"Re: {base}" if base else "Re: your message"


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
    msg["From"] = formataddr((from_name, from_addr))
    msg["To"] = formataddr((to_name, to_addr))
    msg["Subject"] = reply_subject(subject)
    msg["Date"] = format_datetime(when or datetime.now(timezone.utc))
    msg["Message-ID"] = f"<{mid}>"
    if parent_id:
        msg["In-Reply-To"] = f"<{parent_id}>"
        refs = [r for r in parent_refs if r != parent_id][-20:] + [parent_id]
        msg["References"] = " ".join(f"<{r}>" for r in refs)
    msg["X-Switchboard-Thread"] = thread_id
    msg["Auto-Submitted"] = "no"
    msg.set_content(text)
    return msg, mid


def smtp_send(msg: EmailMessage, *, host: str, port: int, security: str, login: Login | None, timeout: float,
              account: str) -> None:
    """Send one message. AuthError, TransientError or PermanentError on failure."""
    context = ssl.create_default_context()
    try:
        if security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(host, port, timeout=timeout)
    except BaseException as exc:  # noqa: BLE001
        raise network_error(exc, "SMTP", host, port, timeout) from None
    try:
        smtp.ehlo()
        if security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if login is not None:
            _authenticate(smtp, login, host, account)
        smtp.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthError(f"account {account!r}: SMTP server {host} refused the login ({_reason(exc)})",
                        fix=f"check smtp_username; store the right password with: switchboard accounts add {account}"
                        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentError(f"SMTP server {host} refused the recipient(s) "
                             f"{', '.join(exc.recipients)}", fix="check the customer's address") from None
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentError(f"SMTP server {host} rejected the message ({exc.smtp_code} {_reason(exc)})",
                                 fix="read the reason; fix the address or the content and send again") from None
        raise TransientError(f"SMTP server {host} deferred the message ({exc.smtp_code} {_reason(exc)})",
                             fix="it will be retried") from None
    except smtplib.SMTPNotSupportedError as exc:
        raise TransientError(f"SMTP server {host}: {exc}", fix="check smtp_security (starttls needs server support)"
                             ) from None
    except (smtplib.SMTPException, OSError) as exc:
        raise network_error(exc, "SMTP", host, port, timeout) from None
    finally:
        try:
            smtp.quit()
        except Exception:
            try:
                smtp.close()
            except Exception:
                pass


def smtp_check(*, host: str, port: int, security: str, login: Login | None, timeout: float, account: str) -> None:
    """Connect and log in, send nothing."""
    context = ssl.create_default_context()
    try:
        smtp = (smtplib.SMTP_SSL(host, port, timeout=timeout, context=context) if security == "tls"
                else smtplib.SMTP(host, port, timeout=timeout))
    except BaseException as exc:  # noqa: BLE001
        raise network_error(exc, "SMTP", host, port, timeout) from None
    try:
        smtp.ehlo()
        if security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if login is not None:
            _authenticate(smtp, login, host, account)
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthError(f"account {account!r}: SMTP server {host} refused the login ({_reason(exc)})",
                        fix=f"store the right password with: switchboard accounts add {account}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise network_error(exc, "SMTP", host, port, timeout) from None
    finally:
        try:
            smtp.quit()
        except Exception:
            smtp.close()


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
