"""A snapshot's middleware chains, resolved once when the snapshot is built.

Each provider's chain (the built-ins its family needs, then the global and its own
middleware, in the configured order) and each team's own are ``Chain`` objects with
one tuple per hook kind; a call runs the provider's, then its team's. With nothing
configured every tuple is empty and the hot path costs one truth test.

A middleware that cannot be built (import error, options it refuses) is no crash of
the snapshot: it becomes a hook that fails on every call, so its ``on_error`` decides
(refuse: every call gets the clear error; pass: skipped), and the load summary says so.
"""

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from providers.middleware_specs import parse_specs
from routing.middleware.base import HookContext, Middleware, MiddlewareSpec, load_middleware, overrides

logger = logging.getLogger(__name__)

HOOK_KINDS = ("on_request", "on_stream_event", "on_response")


class BrokenMiddleware(Middleware):
    """Stands in for a middleware that could not be built: every hook fails with why."""

    def __init__(self, options: Mapping[str, Any]) -> None:
        super().__init__(options)
        self.reason = str(options.get("reason", "could not be loaded"))

    async def on_request(self, body: dict[str, Any], context: HookContext) -> dict[str, Any]:
        raise RuntimeError(self.reason)


@dataclass(frozen=True, eq=False, slots=True)
class Hook:
    spec: MiddlewareSpec
    middleware: Middleware

    @property
    def name(self) -> str:
        return self.spec.path


@dataclass(frozen=True, slots=True)
class Chain:
    """The hooks of each kind, in the order they run."""

    request: tuple[Hook, ...] = ()
    stream: tuple[Hook, ...] = ()
    response: tuple[Hook, ...] = ()
    specs: tuple[MiddlewareSpec, ...] = ()

    @property
    def answers(self) -> bool:
        """Whether any hook looks at answers (else they pass untouched)."""
        return bool(self.stream or self.response)

    def __add__(self, other: "Chain") -> "Chain":
        return Chain(
            self.request + other.request,
            self.stream + other.stream,
            self.response + other.response,
            self.specs + other.specs,
        )


def _hook(spec: MiddlewareSpec) -> Hook:
    try:
        middleware = load_middleware(spec.path, spec.options)
    except ValueError as exc:
        logger.error("middleware %s (%s) cannot be used: %s", spec.path, spec.scope, exc)
        middleware = BrokenMiddleware({"reason": str(exc)})
    return Hook(spec, middleware)


def specs_from(stored: Any, scope: str) -> tuple[MiddlewareSpec, ...]:
    """Specs from a provider's or team's stored JSON (checked when it was saved; a row
    written around the checks becomes one broken middleware, not a broken snapshot)."""
    try:
        entries = parse_specs(stored)
    except ValueError as exc:
        reason = json.dumps({"reason": f"{scope}: {exc}"})
        return (MiddlewareSpec(f"{__name__}.BrokenMiddleware", reason, scope=scope),)
    return tuple(
        MiddlewareSpec(
            path=entry["path"],
            options_json=json.dumps(entry["options"], sort_keys=True, separators=(",", ":")),
            on_error=entry["on_error"],
            scope=scope,
        )
        for entry in entries
    )


def build_chain(specs: Iterable[MiddlewareSpec]) -> Chain | None:
    """The chain of ``specs``; None for no specs (what the snapshot keeps then)."""
    hooks = [_hook(spec) for spec in specs]
    if not hooks:
        return None

    def having(kind: str) -> tuple[Hook, ...]:
        return tuple(hook for hook in hooks if overrides(hook.middleware, kind))

    resolved = tuple(hook.spec for hook in hooks)
    return Chain(having("on_request"), having("on_stream_event"), having("on_response"), resolved)
