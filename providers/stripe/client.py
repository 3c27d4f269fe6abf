"""A small Stripe REST client on httpx: form-encoded requests, list pages, errors as provider errors.

Stripe answers errors as ``{"error": {"type", "code", "message"}}``; each becomes one
of the contract's errors with a line a person can act on.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import httpx

from providers.base import AuthError, PermanentError, TransientError

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


def form(data: dict[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's nested form encoding: {"metadata": {"k": "v"}} -> [("metadata[k]", "v")],
    {"items": [{"price": "p"}]} -> [("items[0][price]", "p")], {"expand": ["a"]} -> [("expand[]", "a")]."""
    out: list[tuple[str, str]] = []
    for key, value in data.items():
        name = f"{prefix}[{key}]" if prefix else key
        if value is None:
            continue
        if isinstance(value, dict):
            out.extend(form(value, name))
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    out.extend(form(item, f"{name}[{i}]"))
                else:
                    out.append((f"{name}[]", str(item)))
        elif isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        else:
            out.append((name, str(value)))
    return out


class StripeClient:
    def __init__(self, api_base: str, secret_key: str, account: str) -> None:
        self.account = account
        self.http = httpx.AsyncClient(base_url=api_base.rstrip("/"), auth=(secret_key, ""), timeout=TIMEOUT,
                                      headers={"Stripe-Version": "2024-06-20"})

    async def close(self) -> None:
        await self.http.aclose()

    async def get(self, path: str, params: dict[str, Any] | None = None, *, missing_ok: bool = False) -> dict | None:
        """GET one object or list page; ``missing_ok``: a 404 (a resource this server lacks) gives None."""
        return await self._call("GET", path, params=form(params or {}), missing_ok=missing_ok)

    async def post(self, path: str, data: dict[str, Any], *, idempotency_key: str) -> dict:
        return await self._call("POST", path, content=urlencode(form(data)),
                                headers={"Idempotency-Key": idempotency_key,
                                         "Content-Type": "application/x-www-form-urlencoded"})

    async def _call(self, method: str, path: str, *, missing_ok: bool = False, **kw) -> dict | None:
        try:
            resp = await self.http.request(method, path, **kw)
        except httpx.TimeoutException:
            raise TransientError(f"{self.account}: Stripe did not answer in time",
                                 fix="the engine retries by itself; check the network if it persists") from None
        except httpx.TransportError as exc:
            raise TransientError(f"{self.account}: cannot reach Stripe ({type(exc).__name__})",
                                 fix="check the network or the account's api_base") from None
        if resp.status_code == 404 and missing_ok:
            return None
        if resp.status_code >= 400:
            raise self._error(resp, method, path)
        try:
            return resp.json()
        except ValueError:
            raise TransientError(f"{self.account}: Stripe sent a reply that is not JSON ({method} {path})",
                                 fix="check the account's api_base points at the Stripe API") from None

    def _error(self, resp: httpx.Response, method: str, path: str) -> Exception:
        try:
            err = resp.json().get("error") or {}
        except (ValueError, AttributeError):
            err = {}
        message = " ".join(str(err.get("message") or resp.reason_phrase or "").split())[:300]
        where = f"{self.account}: Stripe refused {method} {path.split('?')[0]}"
        if resp.status_code == 401:
            return AuthError(f"{self.account}: Stripe rejected the secret key",
                             fix=f"store a valid key: switchboard accounts add {self.account}")
        if resp.status_code == 403:
            return AuthError(f"{where}: {message or 'permission denied'}",
                             fix="give the restricted key Read on customers, charges, disputes, subscriptions, "
                                 "events and Write on refunds")
        if resp.status_code == 429 or resp.status_code >= 500:
            retry = resp.headers.get("Retry-After")
            return TransientError(f"{where} ({resp.status_code}{': ' + message if message else ''})",
                                  fix="the engine retries by itself",
                                  retry_after=float(retry) if retry and retry.isdigit() else None)
        return PermanentError(f"{where}: {message or resp.status_code}")
