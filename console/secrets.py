"""Secrets in the OS keyring, under service "switchboard" and the account's name.

Nothing else in Switchboard stores a password or token: not config.toml, not the
cache, not a log. ``PYTHON_KEYRING_BACKEND`` (keyring's own variable) picks a
backend explicitly, e.g. for a headless server.
"""

from __future__ import annotations

from console.errors import UserError
from providers.base import AuthError, KeptSecrets

SERVICE = "switchboard"

NO_BACKEND_FIX = (
    "install and unlock a Secret Service (GNOME Keyring, KWallet, KeePassXC), or pick one with "
    "PYTHON_KEYRING_BACKEND, e.g. keyrings.alt.file.PlaintextKeyring from the keyrings.alt package on a trusted machine"
)


def _keyring():
    import keyring  # lazy: importing keyring probes backends
    from keyring.errors import KeyringError

    return keyring, KeyringError


def backend_name() -> str:
    keyring, _ = _keyring()
    kr = keyring.get_keyring()
    return f"{type(kr).__module__}.{type(kr).__name__}"


def check_backend() -> str:
    """The backend's name, or a UserError saying there is none and what to do."""
    keyring, _ = _keyring()
    kr = keyring.get_keyring()
    module = type(kr).__module__
    if module.startswith("keyring.backends.fail") or module.startswith("keyring.backends.null"):
        raise UserError("no usable keyring backend: passwords cannot be stored", fix=NO_BACKEND_FIX)
    try:
        priority = kr.priority
    except Exception:  # some backends raise when unusable
        raise UserError("the keyring backend is not usable here", fix=NO_BACKEND_FIX) from None
    if isinstance(priority, (int, float)) and priority <= 0 and "chainer" not in module:
        raise UserError(f"the keyring backend {module} is not usable", fix=NO_BACKEND_FIX)
    return backend_name()


def get(account: str) -> str | None:
    keyring, KeyringError = _keyring()
    try:
        return keyring.get_password(SERVICE, account)
    except KeyringError as exc:
        raise UserError(f"cannot read the keyring for {account!r}: {exc}", fix=NO_BACKEND_FIX) from None


def put(account: str, secret: str) -> None:
    check_backend()
    keyring, KeyringError = _keyring()
    try:
        keyring.set_password(SERVICE, account, secret)
    except KeyringError as exc:
        raise UserError(f"cannot store the secret for {account!r}: {exc}", fix=NO_BACKEND_FIX) from None


def delete(account: str) -> bool:
    """Remove the secret; False if there was none."""
    keyring, KeyringError = _keyring()
    from keyring.errors import PasswordDeleteError

    try:
        keyring.delete_password(SERVICE, account)
        return True
    except PasswordDeleteError:
        return False
    except KeyringError as exc:
        raise UserError(f"cannot remove the secret for {account!r}: {exc}", fix=NO_BACKEND_FIX) from None


def reader(account: str):
    """A callable for AccountConfig.secret: reads the keyring only when asked."""
    return lambda: get(account)


class KeyringKept(KeptSecrets):
    """An adapter's own secrets (tokens, store passphrases) in the keyring, as
    ``ACCOUNT:NAME`` under the same service as the account's password. A keyring
    failure reaches the adapter as an AuthError carrying the fix."""

    def __init__(self, account: str) -> None:
        self.account = account

    def get(self, name: str) -> str | None:
        return self._call(get, name)

    def put(self, name: str, value: str) -> None:
        self._call(put, name, value)

    def delete(self, name: str) -> None:
        self._call(delete, name)

    def _call(self, fn, name: str, *args):
        try:
            return fn(f"{self.account}:{name}", *args)
        except UserError as exc:
            raise AuthError(exc.args[0], fix=exc.fix) from None
