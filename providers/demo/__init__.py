"""The demo provider: a whole customer-service world with no account and no network.

``switchboard --demo`` runs five accounts of this provider (mail, chat, social, shop,
help centre), each simulating one remote system from one shared, seeded world
(:mod:`providers.demo.world`). Its remote side (:mod:`providers.demo.remote`) keeps
pushed keys and injected messages, in a journal when ``state_dir`` is set.
"""

from providers.demo.adapter import DemoProvider
from providers.demo.remote import DemoRemote
from providers.demo.world import World, build_world

__all__ = ["DemoProvider", "DemoRemote", "World", "build_world"]
