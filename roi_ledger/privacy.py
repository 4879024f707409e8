"""Personal identifiers are hashed with a secret salt before they land; this module says what a
usable salt is, and remembers which salt a warehouse's hashes were made with, without keeping it.

A salt that is short or repetitive can be guessed, and then every customer's hash can be
reversed by hashing candidate ids; a salt that changes between runs gives one customer two
hashes (files already loaded are never re-hashed), silently splitting repeat customers in two.
So a run refuses a weak salt, and the warehouse keeps a *fingerprint* of the salt (a slow,
salted PBKDF2 hash: it proves sameness, it does not reveal the salt) that every later run
compares with its own. See docs/privacy.md.
"""

from __future__ import annotations

import hashlib

MIN_SALT_LENGTH = 16
MIN_DISTINCT_CHARACTERS = 8
# PBKDF2-HMAC-SHA256 with a fixed purpose string: the same salt always gives the same
# fingerprint, and testing a guess costs this many hashes.
FINGERPRINT_ITERATIONS = 200_000
FINGERPRINT_PURPOSE = b"roi-ledger pseudonym salt fingerprint v1"


class SaltError(ValueError):
    """The pseudonym salt is missing, too weak, or not the one this warehouse was built with."""


def check_salt_strength(salt: str, variable: str = "ROI_PSEUDONYM_SALT") -> None:
    stripped = salt.strip()
    if len(stripped) < MIN_SALT_LENGTH or len(set(stripped)) < MIN_DISTINCT_CHARACTERS:
        raise SaltError(
            f"{variable} is too weak to protect people's identifiers: use at least {MIN_SALT_LENGTH} characters "
            f"with at least {MIN_DISTINCT_CHARACTERS} different ones (e.g. the output of "
            "`python -c 'import secrets; print(secrets.token_urlsafe(32))'`), and keep it stable"
        )


def salt_fingerprint(salt: str) -> str:
    return hashlib.pbkdf2_hmac("sha256", salt.encode("utf-8"), FINGERPRINT_PURPOSE, FINGERPRINT_ITERATIONS).hex()


def check_same_salt(salt: str, recorded: str | None, warehouse: str) -> None:
    """Raise when ``recorded`` (the warehouse's fingerprint, None for a new warehouse) is not
    ``salt``'s."""
    if recorded is not None and salt_fingerprint(salt) != recorded:
        raise SaltError(
            f"ROI_PSEUDONYM_SALT is not the salt {warehouse}'s identifiers were hashed with: this run would give "
            "every customer and employee a second identity. Set the salt the warehouse was built with; to start "
            "over with a new salt, build a new warehouse (a new --warehouse path) from the same data."
        )
