"""A separate process for the refund kill -9 test: push the outbox of one Stripe account.

    python -m tests.support.crash.stripe_worker CACHE API_BASE SECRET_KEY
"""

from __future__ import annotations

import asyncio
import sys

from console.actions import refund as _refund  # noqa: F401  (registers the refund kind with the dispatcher)
from console.cache import connect
from console.outbox import Dispatcher
from providers.base import AccountConfig
from providers.stripe import StripeProvider


async def send(cache: str, api_base: str, key: str) -> None:
    db = connect(cache)
    p = StripeProvider(AccountConfig("payments", "stripe", {"api_base": api_base}, secret=lambda: key))
    await p.open(read_only=False)
    print("pushing", flush=True)
    await Dispatcher(db).flush("payments", p)
    await p.close()
    print("done", flush=True)


if __name__ == "__main__":
    asyncio.run(send(sys.argv[1], sys.argv[2], sys.argv[3]))
