"""Out-of-band OAuth for ``switchboard accounts add``: register an app, send the
agent to the authorize page, exchange the code they paste back for a token."""

from __future__ import annotations

from urllib.parse import urlencode

import httpx

from providers.base import AuthError, PermanentError, TransientError

REDIRECT_URI = "urn:ietf:wg:oauth:2.0:oob"
SCOPES = "read write"
APP_NAME = "Switchboard"
TIMEOUT = 30.0


def _base(instance: str) -> str:
    instance = instance.strip().rstrip("/")
    if not instance.startswith(("https://", "http://")):
        instance = "https://" + instance
    return instance


async def _post(instance: str, path: str, data: dict[str, str]) -> dict:
    url = _base(instance) + path
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            resp = await http.post(url, data=data)
    except httpx.HTTPError as e:
        raise TransientError(f"cannot reach {_base(instance)}: {e}", fix="check the instance URL and the network") from e
    if resp.status_code in (400, 401, 403):
        try:
            body = resp.json()
            detail = body.get("error_description") or body.get("error") or resp.text[:200]
        except ValueError:
            detail = resp.text[:200]
        raise AuthError(f"{_base(instance)} refused: {detail}",
                        fix="copy the whole code from the authorize page and try again")
    if resp.status_code >= 400:
        raise PermanentError(f"{url} answered {resp.status_code}", fix="check the instance URL")
    return resp.json()


async def register_app(instance: str) -> tuple[str, str]:
    """Register Switchboard as an OAuth app on ``instance``; return (client_id, client_secret)."""
    body = await _post(instance, "/api/v1/apps", {
        "client_name": APP_NAME, "redirect_uris": REDIRECT_URI, "scopes": SCOPES,
    })
    return body["client_id"], body["client_secret"]


def authorize_url(instance: str, client_id: str) -> str:
    """The page where the agent signs in and gets a code to paste back."""
    query = urlencode({"client_id": client_id, "scope": SCOPES, "redirect_uri": REDIRECT_URI,
                       "response_type": "code"})
    return f"{_base(instance)}/oauth/authorize?{query}"


async def exchange_code(instance: str, client_id: str, client_secret: str, code: str) -> str:
    """Trade the pasted authorization code for an access token."""
    body = await _post(instance, "/oauth/token", {
        "grant_type": "authorization_code", "code": code.strip(), "client_id": client_id,
        "client_secret": client_secret, "redirect_uri": REDIRECT_URI, "scope": SCOPES,
    })
    token = body.get("access_token")
    if not token:
        raise AuthError(f"{_base(instance)} gave no access token", fix="start again with switchboard accounts add")
    return token
