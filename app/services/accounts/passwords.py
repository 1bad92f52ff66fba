"""The password policy, and hashing: one place decides what a password may be."""

import gzip
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.services.errors import N_, InvalidInput

# NIST SP 800-63B asks for 8 at least; 10 keeps the common short patterns out as well.
MIN_LENGTH = 10
# Long enough for any passphrase, short enough that hashing cannot be used to burn CPU.
MAX_LENGTH = 256
COMMON_PASSWORDS_FILE = Path(__file__).resolve().parents[2] / "data" / "common-passwords.txt.gz"

_hasher = PasswordHasher()


@cache
def common_passwords() -> frozenset[str]:
    """The list's entries that the length rule alone would let through."""
    with gzip.open(COMMON_PASSWORDS_FILE, "rt", encoding="utf-8") as lines:
        return frozenset(word for line in lines if len(word := line.strip()) >= MIN_LENGTH)


def check_policy(password: object, username: str) -> str:
    """The password if a person may choose it; InvalidInput saying why otherwise."""
    if not isinstance(password, str) or not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            N_("password must be %(min)d-%(max)d characters"),
            code="weak_password",
            min=MIN_LENGTH,
            max=MAX_LENGTH,
        )
    if password.casefold() == username.casefold():
        raise InvalidInput(
            N_("password must not be the same as the username"), code="weak_password"
        )
    if password.lower() in common_passwords():
        raise InvalidInput(
            N_("that password is one of the most common ones; choose another"),
            code="weak_password",
        )
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify(password_hash: str | None, password: str) -> bool:
    """Constant work whether or not an account exists (hash is None for a missing one)."""
    if password_hash is None:
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
