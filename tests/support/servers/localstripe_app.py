"""Run localstripe's aiohttp app on 127.0.0.1 only (its own start command binds every interface).

Started by tests/support/servers/stripe_server.py with localstripe's own venv:

    python localstripe_app.py PORT FOLDER

The store stays in memory (localstripe would pickle it to /tmp/localstripe.pickle,
shared by every instance on the machine). Every request is logged as one
"METHOD PATH" line to FOLDER/requests.log, so a test can prove what reached the
server. ``POST /_test/slow_refunds?seconds=N`` makes later refunds answer N seconds
after they are made, which opens the window between a push and its confirmation.
"""

import asyncio
import sys
from pathlib import Path

from aiohttp import web
from localstripe import resources
from localstripe.server import app

port, folder = int(sys.argv[1]), Path(sys.argv[2])
resources.Store.dump_to_disk = lambda self: None
log = open(folder / "requests.log", "a", buffering=1)
slow = {"refunds": 0.0}


@web.middleware
async def record(request, handler):
    log.write(f"{request.method} {request.path}\n")
    response = await handler(request)
    if request.method == "POST" and request.path == "/v1/refunds" and slow["refunds"]:
        await asyncio.sleep(slow["refunds"])
    return response


async def slow_refunds(request):
    slow["refunds"] = float(request.query.get("seconds", "0"))
    return web.Response(text="ok")


app.middlewares.insert(0, record)
app.router.add_post("/_test/slow_refunds", slow_refunds)
web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)
