"""Who calls and what they may do: users with roles in a jurisdiction, API keys, tokens.

- :mod:`~api.auth.principal`: the caller (:class:`~api.auth.principal.Principal`);
  :mod:`~api.auth.roles`: roles and their actions.
- :mod:`~api.auth.deps`: ``PrincipalDep``, ``ScopeDep``, ``require(action)`` for routes.
- :mod:`~api.auth.service`: sign-in (argon2 passwords, throttled), access tokens (HS256
  JWT) and rotating refresh tokens, API keys (``ck_<id>_<secret>``).
- :mod:`~api.auth.audit`: ``record_write`` for routes that write; refusals are recorded by
  the dependencies.
- :mod:`~api.auth.state`: per-app secret, settings, database and clock;
  :mod:`~api.auth.install`: what ``create_app`` calls.
"""
