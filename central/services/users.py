"""Officer accounts: argon2 password hashes, login with per-user lockout and a per-address limit.

A failed login never says whether the user exists; every attempt runs one argon2 verification
so timing does not tell either.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from central.errors import InvalidRequest
from central.models import User, as_utc, utcnow
from central.roles import Role
from central.security import sessions

log = logging.getLogger(__name__)

_hasher = PasswordHasher()
# Verified against when the user does not exist, so both paths cost one argon2 run.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))

MIN_PASSWORD_LENGTH = 12


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(f"password must have at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


def create_user(session: Session, username: str, role: str, password: str) -> User:
    username = username.strip()
    if not username or len(username) > 64:
        raise InvalidRequest("username must have 1 to 64 characters")
    try:
        role_value = Role(role)
    except ValueError as exc:
        raise InvalidRequest(f"unknown role {role!r}; one of {', '.join(Role)}") from exc
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise InvalidRequest(f"user {username!r} exists")
    user = User(username=username, role=role_value.value, password_hash=hash_password(password), active=True)
    session.add(user)
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def get_user(session: Session, user_id: int) -> User:
    from central.errors import NotFound

    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def set_password(user: User, password: str, *, must_change: bool = False) -> None:
    """A new password (hashed); *must_change* makes the next login choose another."""
    user.password_hash = hash_password(password)
    user.must_change_password = must_change
    user.failed_logins = 0
    user.locked_until = None
    sessions.revoke_all(user, "password changed")  # whoever held the old password is logged out


def reset_password(user: User) -> str:
    """An administrator's reset: a generated one-time password, to be changed at the next login.
    Returned once for the administrator to hand over; never stored or logged in clear."""
    password = generate_password()
    set_password(user, password, must_change=True)
    return password


def change_password(user: User, current: str, new: str) -> None:
    """The user's own change: the current password proves it is them."""
    if not _verify(user.password_hash, current):
        raise InvalidRequest("the current password is wrong")
    if new == current:
        raise InvalidRequest("the new password must differ from the current one")
    set_password(user, new)


class LoginResult(StrEnum):
    OK = "ok"
    BAD_CREDENTIALS = "bad_credentials"
    LOCKED = "locked"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class LoginAttempt:
    result: LoginResult
    user: User | None = None


class AddressLimiter:
    """Failed logins per client address in a sliding window: stops spraying many usernames."""

    def __init__(self, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._max = max_failures
        self._window_s = window_s
        self._clock = clock
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.setdefault(address, deque())
        while failures and failures[0] < now - self._window_s:
            failures.popleft()
        return failures

    def is_blocked(self, address: str) -> bool:
        with self._lock:
            return len(self._recent(address, self._clock())) >= self._max

    def failed(self, address: str) -> None:
        with self._lock:
            now = self._clock()
            self._recent(address, now).append(now)


def authenticate(
    session: Session,
    username: str,
    password: str,
    *,
    address: str,
    limiter: AddressLimiter,
    max_failures: int,
    lockout: timedelta,
    now: datetime | None = None,
) -> LoginAttempt:
    """Check a login; updates failure counters in *session* (the caller commits)."""
    now = now or utcnow()
    if limiter.is_blocked(address):
        log.warning("login: address %s rate limited", address)
        return LoginAttempt(LoginResult.RATE_LIMITED)
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active:
        _verify(_DUMMY_HASH, password)
        limiter.failed(address)
        log.warning("login: failed for unknown or inactive user %r from %s", username[:64], address)
        return LoginAttempt(LoginResult.BAD_CREDENTIALS)
    locked_until = as_utc(user.locked_until)
    if locked_until is not None and locked_until > now:
        _verify(_DUMMY_HASH, password)
        limiter.failed(address)
        log.warning("login: user %s is locked until %s (from %s)", user.username, locked_until.isoformat(), address)
        return LoginAttempt(LoginResult.LOCKED, user)
    if not _verify(user.password_hash, password):
        user.failed_logins += 1
        limiter.failed(address)
        if user.failed_logins >= max_failures:
            user.locked_until = now + lockout
            user.failed_logins = 0
            log.warning("login: user %s locked after %d failures (from %s)", user.username, max_failures, address)
        else:
            log.warning("login: wrong password for %s (%d) from %s", user.username, user.failed_logins, address)
        return LoginAttempt(LoginResult.BAD_CREDENTIALS, user)
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return LoginAttempt(LoginResult.OK, user)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
