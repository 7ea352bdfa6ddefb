"""The middleware chain: operator code that sees a call on its way up and its answer on
its way back (``routing.middleware.base`` for writing one, ``chain`` for how a snapshot
resolves them, ``run`` for where the gateway calls them)."""

from routing.middleware.base import HookContext, Middleware, Refused, StreamEvent

__all__ = ["HookContext", "Middleware", "Refused", "StreamEvent"]
