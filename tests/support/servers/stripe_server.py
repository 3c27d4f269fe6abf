"""localstripe (a stateful fake of the Stripe API) on 127.0.0.1 for the stripe adapter's tests.

``localstripe`` (session scope) starts :mod:`localstripe_app` from
``.cache/localstripe-venv`` (installed by ``install_localstripe.sh``) on a free port
and stops it by pid. :class:`Shop` plays the shop's own side: it makes customers,
takes card payments and reads back refunds, with its own secret key. localstripe
ignores Idempotency-Key; what our side does about that is what the tests prove.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.servers.common import TOOLS, free_port, missing, session_server, stop, wait_for_port

VENV_PY = TOOLS / "localstripe-venv" / "bin" / "python"
APP = Path(__file__).with_name("localstripe_app.py")
INSTALL_HINT = "run tests/support/servers/install_localstripe.sh"
SHOP_KEY = "sk_test_shop_side"


@dataclass
class Shop:
    url: str
    folder: Path

    def _http(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, auth=(SHOP_KEY, ""), timeout=20)

    def call(self, method: str, path: str, **data) -> dict:
        from urllib.parse import urlencode

        from providers.stripe.client import form

        with self._http() as http:
            if method == "POST":
                resp = http.post(path, content=urlencode(form(data)),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
            else:
                resp = http.request(method, path, params=form(data))
        resp.raise_for_status()
        return resp.json()

    def customer(self, email: str | None, name: str = "", phone: str = "") -> str:
        fields = {k: v for k, v in (("email", email), ("name", name), ("phone", phone)) if v}
        return self.call("POST", "/v1/customers", **fields)["id"]

    def pay(self, customer: str, amount: int, currency: str = "eur", **metadata) -> str:
        """A card payment by ``customer`` of ``amount`` minor units; returns the charge id."""
        pm = self.call("POST", "/v1/payment_methods", type="card",
                       card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"})["id"]
        self.call("POST", f"/v1/payment_methods/{pm}/attach", customer=customer)
        pi = self.call("POST", "/v1/payment_intents", customer=customer, payment_method=pm, amount=amount,
                       currency=currency, confirm=True, metadata=metadata or None)
        return pi["charges"]["data"][0]["id"] if "charges" in pi else self.call(
            "GET", "/v1/charges", customer=customer)["data"][-1]["id"]

    def subscribe(self, customer: str, amount: int, nickname: str, currency: str = "eur") -> str:
        """A monthly subscription (the customer needs a default card for its first invoice)."""
        pm = self.call("POST", "/v1/payment_methods", type="card",
                       card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"})["id"]
        self.call("POST", f"/v1/payment_methods/{pm}/attach", customer=customer)
        self.call("POST", f"/v1/customers/{customer}", invoice_settings={"default_payment_method": pm})
        product = self.call("POST", "/v1/products", name=nickname)["id"]
        plan = self.call("POST", "/v1/plans", product=product, amount=amount, currency=currency, interval="month",
                         nickname=nickname)["id"]
        return self.call("POST", "/v1/subscriptions", customer=customer, items=[{"plan": plan}])["id"]

    def refund(self, charge: str, amount: int | None = None) -> str:
        return self.call("POST", "/v1/refunds", charge=charge, amount=amount)["id"]

    def refunds_of(self, charge: str) -> list[dict]:
        return self.call("GET", "/v1/refunds", charge=charge, limit=100)["data"]

    def slow_refunds(self, seconds: float) -> None:
        with self._http() as http:
            http.post("/_test/slow_refunds", params={"seconds": seconds}).raise_for_status()

    def requests(self) -> list[str]:
        return (self.folder / "requests.log").read_text().splitlines()

    def unique_email(self, who: str = "ann") -> str:
        return f"{who}-{uuid.uuid4().hex[:6]}@example.com"


@pytest.fixture(scope="session")
def localstripe():
    if not VENV_PY.exists():
        missing(f"localstripe is not installed: {INSTALL_HINT}")
    folder = Path(tempfile.mkdtemp(prefix="sb-stripe-"))
    port = free_port()
    err = open(folder / "server.err", "wb")
    proc = subprocess.Popen([str(VENV_PY), str(APP), str(port), str(folder)], cwd=folder,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    session_server(proc)
    try:
        wait_for_port(port, timeout=30, proc=proc)
        yield Shop(f"http://127.0.0.1:{port}", folder)
    finally:
        stop(proc)
        err.close()
        shutil.rmtree(folder, ignore_errors=True)
