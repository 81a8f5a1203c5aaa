"""Accounts and callers (SPEC §1), in these parts:

- ``authentication``: ``Auth`` — logins, login tokens (JWT), API keys, the identity and token
  caches, the internal token every service verifies; logouts and ended sessions (decision 0009);
- ``sessions``: the decisions about sessions, reset tokens and e-mail addresses, on plain values;
- ``selfservice``: ``SelfService`` — a person changes their password and e-mail address, or
  resets a forgotten password by e-mail (``mail``: the message, the SMTP client and the sender
  that delivers recorded requests);
- ``throttle``: failed logins counted per username and per client address;
- ``passwords``: the strength rule and argon2 hashing;
- ``accounts``: ``Accounts`` — who may create, verify, reset, disable whom; API keys for machine
  clients; the audit trail.
"""

from gateway.auth.accounts import Accounts, audit, validate_grant
from gateway.auth.authentication import API_AUDIENCE, Auth
from gateway.auth.passwords import hash_password, new_password

__all__ = ["API_AUDIENCE", "Accounts", "Auth", "audit", "hash_password", "new_password",
           "validate_grant"]
