"""Opening IMAP connections and turning socket/TLS/IMAP failures into one-line errors.

IMAPClient is synchronous: everything here runs in a worker thread, never on the
event loop.
"""

from __future__ import annotations

import imaplib
import socket
import ssl
import subprocess
from dataclasses import dataclass

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientAbortError, IMAPClientError, LoginError

from providers.base import AuthError, ProviderError, TransientError

DEFAULT_PORTS = {"tls": 993, "starttls": 143, "none": 143}
SMTP_PORTS = {"tls": 465, "starttls": 587, "none": 25}


@dataclass(slots=True)
class Login:
    """How to authenticate: a password, or an OAuth2 access token (XOAUTH2)."""

    username: str
    password: str | None = None
    token: str | None = None


def oauth_token(command: str, account: str, timeout: float) -> str:
    """Run the user's ``oauth_token_command`` and return the first line it prints."""
    try:
        done = subprocess.run(command, shell=True, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AuthError(f"account {account!r}: oauth_token_command did not finish within {timeout:.0f} s",
                        fix="run it by hand to check it prints a token") from None
    token = (done.stdout or "").strip().splitlines()[0].strip() if (done.stdout or "").strip() else ""
    if done.returncode != 0 or not token:
        why = " ".join((done.stderr or "").split())[:160] or f"exit status {done.returncode}, no output"
        raise AuthError(f"account {account!r}: oauth_token_command failed ({why})",
                        fix="run it by hand; re-authorise with your token tool (see providers/imap/README.md)")
    return token


def network_error(exc: BaseException, what: str, host: str, port: int, timeout: float) -> ProviderError:
    """A TransientError (or AuthError) with one line a person can act on."""
    if isinstance(exc, ProviderError):
        return exc
    where = f"{host}:{port}"
    if isinstance(exc, socket.gaierror):
        return TransientError(f"{what}: cannot resolve host {host!r}",
                              fix="check the host name in config.toml and your network connection")
    if isinstance(exc, ConnectionRefusedError):
        return TransientError(f"{what}: {where} refused the connection",
                              fix="check host, port and security in config.toml; is the server running?")
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return TransientError(f"{what}: {where} did not answer within {timeout:g} s",
                              fix="check the network, or raise `timeout` in config.toml")
    if isinstance(exc, ssl.SSLCertVerificationError):
        return TransientError(f"{what}: the TLS certificate of {host} is not trusted ({exc.verify_message})",
                              fix="check the host name; install the CA certificate if the server uses a private one")
    if isinstance(exc, ssl.SSLError):
        reason = getattr(exc, "reason", None) or str(exc)
        return TransientError(f"{what}: TLS with {where} failed ({reason})",
                              fix="check `security`: tls for port 993/465, starttls for 143/587")
    if isinstance(exc, (IMAPClientAbortError, imaplib.IMAP4.abort, ConnectionError, EOFError, BrokenPipeError)):
        return TransientError(f"{what}: connection to {where} was lost ({_short(exc)})",
                              fix="it will be retried; check the server if this keeps happening")
    if isinstance(exc, OSError):
        return TransientError(f"{what}: network error talking to {where} ({_short(exc)})",
                              fix="check the network; it will be retried")
    if isinstance(exc, IMAPClientError):
        return TransientError(f"{what}: server said {_short(exc)}", fix="it will be retried")
    return TransientError(f"{what}: {type(exc).__name__}: {_short(exc)}", fix="it will be retried")


def _short(exc: BaseException) -> str:
    text = str(exc)
    first = exc.args[0] if exc.args else None
    if isinstance(first, bytes):
        text = first.decode("utf-8", "replace")
    elif text.startswith(("b'", 'b"')):
        text = text[2:-1]
    return " ".join(text.split())[:200] or type(exc).__name__


def connect(host: str, port: int, security: str, login: Login, *, timeout: float, account: str) -> IMAPClient:
    """A logged-in IMAPClient. Raises AuthError or TransientError."""
    try:
        # Loading the system's CA certificates costs ~70 ms and 200 KB read: only when TLS is used.
        context = ssl.create_default_context() if security != "none" else None
        client = IMAPClient(host, port=port, ssl=security == "tls", ssl_context=context, timeout=timeout)
    except BaseException as exc:  # noqa: BLE001 - mapped to a clear error
        raise network_error(exc, "IMAP", host, port, timeout) from None
    try:
        if security == "starttls":
            client.starttls(context)
        if login.token is not None:
            client.oauth2_login(login.username, login.token)
        else:
            client.login(login.username, login.password or "")
    except LoginError as exc:
        _quietly_drop(client)
        how = "OAuth2 token" if login.token is not None else "password"
        raise AuthError(f"account {account!r}: IMAP server {host} refused the {how} for {login.username!r} "
                        f"({_short(exc)})",
                        fix=(f"check `username`; store the right password with: switchboard accounts add {account}"
                             if login.token is None else "re-authorise with your token tool, then retry")) from None
    except BaseException as exc:  # noqa: BLE001
        _quietly_drop(client)
        raise network_error(exc, "IMAP", host, port, timeout) from None
    return client


def _quietly_drop(client: IMAPClient) -> None:
    try:
        client.shutdown()
    except Exception:
        pass


def close_quietly(client: IMAPClient | None) -> None:
    if client is None:
        return
    try:
        client.logout()
    except Exception:
        _quietly_drop(client)
