"""Team presence: who is viewing and replying to which conversation, over the team's Matrix room(s).

- :mod:`console.team.settings` — ``[team]`` in config.toml;
- :mod:`console.team.keys` — the conversation key every console derives alike;
- :mod:`console.team.presence` — the client that announces this console and hears the others;
- :mod:`console.team.view` — the team as the dashboard and ``switchboard team`` show it.

The rows live in the cache's ``team_presence`` table (``console/cache/team.py``); the
transport is the adapter's (``Provider.team_transport``), reached through the contract.
"""
