"""gRPC, server and client (ARCHITECTURE §1, §7).

- ``server``: every service's gRPC server. One kernel interceptor (``Guard``), inside the metrics
  one, checks each call — the gateway-signed internal token, no NUL in any text, the tenant named
  in metadata against the identity's grants — continues the caller's trace, and turns domain
  errors into status codes (the message in the caller's language, the stable code and parameters
  in trailing metadata). Its wrapped handler is built once per method, not per call.
- ``client``: a channel to another service. Every call carries a deadline, the token, the tenant,
  the language and the trace; UNAVAILABLE is retried (every command is idempotent); every call is
  counted (``metrics``).
- ``calls``: the metadata names and the call's context (language, token) both sides share.
"""

from services.kernel.rpc.calls import (
    ERROR_CODE,
    ERROR_KIND,
    ERROR_PARAMS,
    LANG,
    MAX_MESSAGE,
    TENANT,
    TOKEN,
    TRACEPARENT,
    current_language,
    current_token,
)
from services.kernel.rpc.client import RemoteError, ServiceClient
from services.kernel.rpc.server import Guard, create_server, text_refusal

__all__ = [
    "ERROR_CODE", "ERROR_KIND", "ERROR_PARAMS", "LANG", "MAX_MESSAGE", "TENANT", "TOKEN",
    "TRACEPARENT", "Guard", "RemoteError", "ServiceClient", "create_server", "current_language",
    "current_token", "text_refusal",
]
