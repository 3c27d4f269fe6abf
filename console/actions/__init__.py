"""Actions: the one write gate.

``perform(ctx, action_id, thread_id, **args)`` is the only way anything changes:
it refuses mutating actions in read-only mode, runs the handler in one
transaction with its outbox row, and writes an audit row either way.
"""

from console.actions.gate import Context, Result, check, perform
from console.actions.registry import REGISTRY, Action, mutating_ids, register
from console.actions import domain as _domain  # noqa: F401  (registers the data-changing actions)
from console.actions import refund as _refund  # noqa: F401  (registers refund)

__all__ = ["REGISTRY", "Action", "Context", "Result", "check", "mutating_ids", "perform", "register"]
from console import macros as _macros  # noqa: F401
from console.actions import bulk as _bulk  # noqa: F401,E402
from console.actions import undo as _undo  # noqa: F401,E402
from console.actions import merge as _merge  # noqa: F401,E402
