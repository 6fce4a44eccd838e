"""Signing in, refreshing, signing out, and turning credentials into a :class:`Principal`.

Every outcome that matters is written to the audit log here: sign-ins (successful or
not), refused refresh tokens, throttled attempts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from api.auth.apikeys import looks_like_key, parse_key, secret_matches
from api.auth.passwords import verify_password
from api.auth.principal import Principal
from api.auth.state import AuthState
from api.auth.tokens import (
    TokenError,
    issue_access_token,
    new_opaque_token,
    new_session_id,
    read_access_token,
    token_hash,
)
from api.errors import NotAuthenticatedError, TooManySignInsError
from cim.ops import audit, keys, sessions, throttle, users
from cim.ops.audit import AuditEvent
from cim.ops.users import UserRecord

WRONG_CREDENTIALS = "wrong user name or password"


@dataclass(frozen=True)
class TokenPair:
    """What a sign-in or a refresh answers."""

    access_token: str
    refresh_token: str
    expires_in: int

    def to_dict(self) -> dict[str, object]:
        """The OAuth2 token response."""
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
        }


def sign_in(state: AuthState, username: str, password: str, client: str | None) -> TokenPair:
    """Check a user's password and open a session; throttled after repeated failures."""
    state.ensure_secret()  # an app without one refuses before changing anything
    now = state.clock()
    db = state.db
    _refuse_if_throttled(state, username, client, now)
    user = users.find_user(db, username)
    if not verify_password(user.password_hash if user else None, password):
        throttle.record_failure(db, username, client, now)
        _audit_sign_in(state, username, user, "failed", client, now)
        raise NotAuthenticatedError(WRONG_CREDENTIALS)
    assert user is not None
    if user.disabled:
        _audit_sign_in(state, username, user, "disabled", client, now)
        raise NotAuthenticatedError(f"user {username!r} is disabled")
    throttle.forget_failures(db, username, before=now - state.config.failure_window)
    session_id = new_session_id()
    refresh = new_opaque_token()
    sessions.start_session(
        db,
        session_id=session_id,
        user_id=user.id,
        token_hash=token_hash(refresh),
        client=client,
        now=now,
        expires_at=now + state.config.refresh_lifetime,
    )
    _audit_sign_in(state, username, user, "ok", client, now, session=session_id)
    return _pair(state, user, session_id, refresh, now)


def refresh(state: AuthState, refresh_token: str, client: str | None) -> TokenPair:
    """A new access token and a new refresh token for a refresh token used once only."""
    state.ensure_secret()  # an app without one refuses before changing anything
    now = state.clock()
    new = new_opaque_token()
    rotation = sessions.rotate(
        state.db,
        token_hash(refresh_token),
        token_hash(new),
        now=now,
        expires_at=now + state.config.refresh_lifetime,
    )
    if rotation.status != "rotated" or rotation.user is None or rotation.session_id is None:
        user = rotation.user
        audit.append(
            state.db,
            AuditEvent(
                now,
                user.name if user else "anonymous",
                "refused",
                f"refresh-{rotation.status}",
                jurisdiction=user.jurisdiction if user else None,
                action="refresh",
                target=rotation.session_id,
                client=client,
            ),
        )
        reason = {
            "reused": "the refresh token was already used: the session is ended, sign in again",
            "expired": "the refresh token has expired: sign in again",
            "ended": "the session has ended: sign in again",
        }.get(rotation.status, "unknown refresh token")
        raise NotAuthenticatedError(reason)
    return _pair(state, rotation.user, rotation.session_id, new, now)


def sign_out(state: AuthState, principal: Principal) -> None:
    """End the session of a user's access token."""
    if principal.kind != "user" or principal.session_id is None:
        raise NotAuthenticatedError("signing out needs a signed-in user's bearer token")
    sessions.revoke_session(state.db, principal.session_id, state.clock())


def authenticate(state: AuthState, credential: str) -> Principal:
    """The principal a bearer token or an API key stands for; bad ones are refused."""
    if looks_like_key(credential):
        return _key_principal(state, credential)
    try:
        claims = read_access_token(state.signing_key, credential, state.clock())
    except TokenError as exc:
        raise NotAuthenticatedError(str(exc)) from None
    user = sessions.session_user(state.db, claims.session_id)
    if user is None or user.name != claims.subject:
        raise NotAuthenticatedError("the session of this token has ended: sign in again")
    return Principal.user(user.name, user.jurisdiction, frozenset(user.roles), claims.session_id)


def _key_principal(state: AuthState, credential: str) -> Principal:
    parsed = parse_key(credential)
    record = keys.find_key(state.db, parsed[0]) if parsed else None
    if parsed is None or record is None or not secret_matches(parsed[1], record.secret_hash):
        raise NotAuthenticatedError("unknown API key")
    if record.revoked:
        raise NotAuthenticatedError("the API key was revoked")
    return Principal.key(record.id, record.jurisdiction, frozenset(record.actions))


def _pair(
    state: AuthState, user: UserRecord, session_id: str, refresh_token: str, now: datetime
) -> TokenPair:
    lifetime = state.config.access_lifetime
    access = issue_access_token(
        state.signing_key,
        subject=user.name,
        jurisdiction=user.jurisdiction,
        roles=user.roles,
        session_id=session_id,
        now=now,
        lifetime=lifetime,
    )
    return TokenPair(access, refresh_token, int(lifetime.total_seconds()))


def _refuse_if_throttled(
    state: AuthState, username: str, client: str | None, now: datetime
) -> None:
    window = state.config.failure_window
    recent = throttle.recent_failures(state.db, username, client, since=now - window)
    waits = [
        _wait(times, limit, window, now)
        for times, limit in (
            (recent.by_username, state.config.max_failures),
            (recent.by_client, state.config.max_failures_per_client),
        )
        if len(times) >= limit
    ]
    if waits:
        retry_after = max(waits)
        audit.append(
            state.db,
            AuditEvent(
                now,
                username,
                "refused",
                "throttled",
                action="sign-in",
                client=client,
                details={"retry_after": retry_after},
            ),
        )
        raise TooManySignInsError(
            f"too many failed sign-ins: try again in {retry_after} s", retry_after
        )


def _wait(times: tuple[datetime, ...], limit: int, window: timedelta, now: datetime) -> int:
    """Seconds until fewer than ``limit`` of the failures at ``times`` lie in the window."""
    frees_at = times[len(times) - limit] + window
    return max(1, math.ceil((frees_at - now).total_seconds()))


def _audit_sign_in(
    state: AuthState,
    username: str,
    user: UserRecord | None,
    outcome: str,
    client: str | None,
    now: datetime,
    session: str | None = None,
) -> None:
    audit.append(
        state.db,
        AuditEvent(
            now,
            username,
            "sign-in",
            outcome,
            jurisdiction=user.jurisdiction if user else None,
            action="sign-in",
            client=client,
            details={"session": session} if session else {},
        ),
    )
