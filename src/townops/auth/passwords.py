"""Password hashing: argon2id at OWASP's parameters, with old scrypt hashes still accepted.

New hashes are argon2id with 19 MiB of memory, 2 passes and 1 lane (the OWASP Password
Storage Cheat Sheet's first recommended configuration): about 30 ms on one core. Hashes
made before (``scrypt$salt$digest``, N=2^14) still verify, and :func:`needs_rehash` tells
the log-in to replace them (and any argon2 hash made with weaker parameters) on the next
right password.

:func:`verify_dummy` spends the same time as a real verification, so a log-in for an
unknown or inactive user answers as slowly as one for a real user.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)
# The parameters of hashes made before argon2 (verified, then replaced at the next log-in).
_LEGACY_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def verify_password(password: str, stored: str) -> bool:
    if stored.startswith("scrypt$"):
        return _verify_scrypt(password, stored)
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored: str) -> bool:
    """True for a hash that is not argon2id at the current parameters."""
    if not stored.startswith("$argon2id$"):
        return True
    try:
        return _HASHER.check_needs_rehash(stored)
    except InvalidHashError:
        return True


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("not a password anyone has")


def verify_dummy(password: str) -> None:
    """As long as :func:`verify_password` on a real hash; the answer is always no."""
    verify_password(password, _dummy_hash())


def _verify_scrypt(password: str, stored: str) -> bool:
    try:
        _, salt_hex, digest_hex = stored.split("$")
        salt = bytes.fromhex(salt_hex)
    except ValueError:
        return False
    digest = hashlib.scrypt(password.encode(), salt=salt, **_LEGACY_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


def legacy_scrypt_hash(password: str, *, salt: bytes) -> str:
    """A hash as townops made them before argon2 (for tests of the upgrade path)."""
    digest = hashlib.scrypt(password.encode(), salt=salt, **_LEGACY_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"
