"""Typed access from a route to the services, one generated stub per service.

``call.registry.RegisterUnit(req)`` reads like the generated stub and is typed as it
(``RegistryAsyncStub``, so the request and answer types are checked and a misspelt method is an
error for the type checker and an ``AttributeError`` at run time). Underneath, a ``Bound`` proxy
sends every call through ``ServiceClient.call`` (a server-streaming method through
``ServiceClient.stream``: ``async for row in call.evaluation.Rescore(req)``): the caller's
internal token, the tenant of the path and the caller's language travel as metadata, and a
refusal of the service comes back as a ``RemoteError`` with the service's code, parameters and
already-rendered message.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import grpc

from services.kernel.rpc import ServiceClient


class Caller(Protocol):
    """Who is calling where: what a ``Bound`` stub needs to address a call."""

    @property
    def tenant(self) -> str: ...

    @property
    def lang(self) -> str: ...

    @property
    def token(self) -> str: ...


class Bound:
    """A service's generated stub with the caller's metadata bound to every method.

    Only attribute names the stub really has resolve; anything else raises ``AttributeError``
    (there is no calling a method by a string that might be misspelt)."""

    __slots__ = ("_caller", "_client", "_stub")

    def __init__(self, client: ServiceClient, stub_class: type, caller: Caller) -> None:
        self._client = client
        self._stub = client.stub(stub_class)
        self._caller = caller

    def __getattr__(self, name: str) -> Callable[..., Awaitable[Any] | AsyncIterator[Any]]:
        if name.startswith("_"):
            raise AttributeError(name)
        method = getattr(self._stub, name)  # AttributeError: the service has no such method
        client, caller = self._client, self._caller
        if isinstance(method, grpc.aio.UnaryStreamMultiCallable):
            def stream(request: Any, *, timeout: float | None = None) -> AsyncIterator[Any]:
                return client.stream(method, request, token=caller.token, tenant=caller.tenant,
                                     lang=caller.lang, timeout=timeout)

            stream.__name__ = name
            return stream

        async def invoke(request: Any, *, timeout: float | None = None) -> Any:
            return await client.call(method, request, token=caller.token, tenant=caller.tenant,
                                     lang=caller.lang, timeout=timeout)

        invoke.__name__ = name
        return invoke

    def __repr__(self) -> str:
        return f"Bound({type(self._stub).__name__}, tenant={self._caller.tenant})"
