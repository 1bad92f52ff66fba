"""Slowing down password guessing per account, without letting an attacker lock anyone out.

Failed logins are counted per account; after FREE_ATTEMPTS the account's next attempt must
wait, doubling each time up to MAX_DELAY. A browser that has logged in to the account
before carries a signed device cookie, and its attempts are counted for that device alone
(OWASP's "device cookies"), so a guesser elsewhere never locks the owner out of their own
phone. The counters live in the database: they hold across processes and without Redis.
"""

import secrets
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from app.extensions import db
from app.models import LoginThrottle, utcnow

FREE_ATTEMPTS = 5
FIRST_DELAY_SECONDS = 2
# A guesser gets at most ~4 tries an hour once the delay has grown this far.
MAX_DELAY_SECONDS = 15 * 60
DEVICE_COOKIE_SALT = "natter-login-device"


class Throttled(Exception):
    def __init__(self, retry_after: int):
        super().__init__(f"retry after {retry_after} s")
        self.retry_after = retry_after


def account_key(username: str) -> str:
    return "account:" + username.casefold()[:150]


def device_token(secret_key: str, username: str) -> str:
    """The signed cookie value that marks this browser as one the account has used."""
    serializer = URLSafeSerializer(secret_key, salt=DEVICE_COOKIE_SALT)
    return serializer.dumps({"u": username.casefold(), "d": secrets.token_hex(8)})


def key_for(secret_key: str, username: str, device_cookie: str | None) -> str:
    """The counter an attempt to log in as `username` from this browser belongs to."""
    if device_cookie:
        serializer = URLSafeSerializer(secret_key, salt=DEVICE_COOKIE_SALT)
        try:
            device = serializer.loads(device_cookie)
        except BadSignature:
            device = None
        if isinstance(device, dict) and device.get("u") == username.casefold():
            return f"device:{device['d']}"
    return account_key(username)


def check(key: str) -> None:
    """Raises Throttled while the counter says to wait."""
    row = db.session.get(LoginThrottle, key)
    if row is not None and row.blocked_until is not None:
        wait = (row.blocked_until - utcnow()).total_seconds()
        if wait > 0:
            raise Throttled(int(wait) + 1)


def record_failure(key: str) -> None:
    row = db.session.get(LoginThrottle, key) or LoginThrottle(key=key, failures=0)
    row.failures += 1
    extra = row.failures - FREE_ATTEMPTS
    if extra >= 0:
        delay = min(FIRST_DELAY_SECONDS * 2**extra, MAX_DELAY_SECONDS)
        row.blocked_until = utcnow() + timedelta(seconds=delay)
    row.updated_at = utcnow()
    db.session.add(row)
    db.session.commit()


def record_success(key: str) -> None:
    db.session.execute(db.delete(LoginThrottle).where(LoginThrottle.key == key))
    db.session.commit()
