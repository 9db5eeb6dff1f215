"""A job's transform key: the secret every keyed transformer of its runs derives from.

A key Veilsync generates is 256 random bits and is used as it is. A passphrase a user supplies
is checked for strength, then stretched with scrypt (RFC 7914, OpenSSL's, through hashlib)
under a random salt of its own job: one known (input, output) pair lets an attacker test
passphrases offline, and each guess then costs SCRYPT_N x SCRYPT_R x 128 bytes of memory
(128 MiB) and about a second of CPU instead of a hash. The stretch runs once, when the job is
created; the store keeps the derived key (encrypted), the salt and the parameters, never the
passphrase, so runs never pay for it.

Jobs stored before stretching existed have no salt: their key is used as stored, exactly as
before, so their outputs do not change."""

import base64
import hashlib
import itertools
import math
import secrets
import string
import threading
from dataclasses import dataclass

# OWASP's scrypt recommendation for password storage (N=2^17, r=8, p=1).
SCRYPT_N = 1 << 17
SCRYPT_R = 8
SCRYPT_P = 1
KEY_BYTES = 32
SALT_BYTES = 16
KDF = f"scrypt:n={SCRYPT_N},r={SCRYPT_R},p={SCRYPT_P}"
# hashlib refuses scrypt above maxmem; the parameters need 128 MiB and a little more.
_MAXMEM = 2 * 128 * SCRYPT_R * SCRYPT_N
# Each stretch holds 128 MiB: a burst of CreateJob calls waits its turn rather than taking
# the API's memory.
_STRETCHING = threading.BoundedSemaphore(2)

MIN_PASSPHRASE_CHARS = 16
MIN_PASSPHRASE_BITS = 64
REQUIREMENT = (
    f"at least {MIN_PASSPHRASE_CHARS} characters and about {MIN_PASSPHRASE_BITS} bits of "
    "estimated entropy: mix upper and lower case, digits and symbols, or use five or more "
    "random words, without repeated or sequential runs (aaaa, abcd, 1234)"
)

# Alphabet sizes of the character classes a passphrase draws from.
_CLASSES: tuple[tuple[frozenset[str], int], ...] = (
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.digits), 10),
    (frozenset(string.punctuation + " "), 33),
)
# Letters outside ASCII: a guesser's alphabet grows, though by less than Unicode's size.
_OTHER_ALPHABET = 100


@dataclass(frozen=True)
class JobKey:
    """What the store keeps of a job's key."""

    material: str  # the key the transformers derive from, as text (encrypted at rest)
    salt: bytes | None = None  # the scrypt salt; None for a generated key
    kdf: str | None = None  # how material was derived, such as KDF; None when it was not


def generated_key() -> JobKey:
    """256 random bits: nothing to stretch."""
    return JobKey(secrets.token_urlsafe(KEY_BYTES))


def stretched_key(passphrase: str, salt: bytes | None = None) -> JobKey:
    """The passphrase stretched by scrypt under `salt` (a fresh random one by default); about a
    second of CPU and 128 MiB, so call it once per job, never per run or batch."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    with _STRETCHING:
        derived = hashlib.scrypt(
            passphrase.encode(),
            salt=salt,
            n=SCRYPT_N,
            r=SCRYPT_R,
            p=SCRYPT_P,
            maxmem=_MAXMEM,
            dklen=KEY_BYTES,
        )
    return JobKey(base64.urlsafe_b64encode(derived).decode().rstrip("="), salt, KDF)


def job_key(passphrase: str) -> JobKey:
    """A new job's key: generated without a passphrase, stretched from one otherwise (checked
    first with passphrase_weakness)."""
    return stretched_key(passphrase) if passphrase else generated_key()


def estimated_bits(passphrase: str) -> float:
    """A conservative guess at the passphrase's entropy: log2 of the alphabet of the character
    classes it uses, times the characters that count. A character does not count when it
    repeats or continues the one before it (aa, ab, 21: what a guesser tries first), and at
    most 1.5 count per distinct character (passwordpassword). An estimate, not a dictionary
    attack: it refuses short, one-class, repeated and sequential passphrases."""
    if not passphrase:
        return 0.0
    alphabet = sum(size for chars, size in _CLASSES if any(c in chars for c in passphrase))
    if any(ord(c) > 127 for c in passphrase):
        alphabet += _OTHER_ALPHABET
    steps = 1 + sum(abs(ord(c) - ord(p)) > 1 for p, c in itertools.pairwise(passphrase))
    counted = min(steps, 1.5 * len(set(passphrase)))
    return counted * math.log2(max(alphabet, 2))


def passphrase_weakness(passphrase: str) -> str | None:
    """Why the passphrase is too weak to key a job (REQUIREMENT, with what it falls short
    of), or None when it is strong enough."""
    if len(passphrase) < MIN_PASSPHRASE_CHARS:
        return f"must have {REQUIREMENT}; it has {len(passphrase)} characters"
    bits = estimated_bits(passphrase)
    if bits < MIN_PASSPHRASE_BITS:
        return f"must have {REQUIREMENT}; it has about {bits:.0f} bits"
    return None
