"""Transform keys: scrypt with the documented parameters under a per-job salt, and the
strength check passphrases pass before they key a job."""

import base64
import hashlib

import pytest

from services.api import validation
from services.common.errors import InvalidArgumentError
from services.common.transform_keys import (
    KDF,
    MIN_PASSPHRASE_BITS,
    estimated_bits,
    generated_key,
    job_key,
    passphrase_weakness,
    stretched_key,
)

PASSPHRASE = "correct horse battery staple"


def test_a_passphrase_is_stretched_by_scrypt_with_the_documented_parameters() -> None:
    salt = bytes(range(16))
    key = stretched_key(PASSPHRASE, salt)
    expected = hashlib.scrypt(
        PASSPHRASE.encode(), salt=salt, n=2**17, r=8, p=1, maxmem=2**28, dklen=32
    )
    assert base64.urlsafe_b64decode(key.material + "=") == expected
    assert (key.salt, key.kdf) == (salt, "scrypt:n=131072,r=8,p=1") == (salt, KDF)
    assert PASSPHRASE not in key.material


def test_each_job_draws_its_own_salt() -> None:
    first, second = job_key(PASSPHRASE), job_key(PASSPHRASE)
    assert first.salt and second.salt and first.salt != second.salt
    assert first.material != second.material
    assert stretched_key(PASSPHRASE, first.salt) == first  # re-derivable from what is stored


def test_a_generated_key_is_random_and_not_stretched() -> None:
    key = job_key("")
    assert (key.salt, key.kdf) == (None, None)
    assert len(base64.urlsafe_b64decode(key.material + "=")) == 32
    assert key != generated_key()


@pytest.mark.parametrize(
    "weak",
    [
        "k" * 20,
        "x" * 16,
        "abcdefghijklmnopqrstuvwxyz",
        "1234567890123456",
        "passwordpassword",
        "P@ssw0rd12345678",
    ],
)
def test_weak_passphrases_are_refused_naming_the_field_and_the_requirement(weak: str) -> None:
    assert estimated_bits(weak) < MIN_PASSPHRASE_BITS
    with pytest.raises(InvalidArgumentError) as caught:
        validation.transform_key(weak)
    assert caught.value.field == "transform_key"
    assert "at least 16 characters" in caught.value.description
    assert f"{MIN_PASSPHRASE_BITS} bits" in caught.value.description


def test_a_short_passphrase_is_refused_for_its_length() -> None:
    weakness = passphrase_weakness("Tr0ub4dor&3")
    assert weakness is not None and weakness.endswith("it has 11 characters")


@pytest.mark.parametrize(
    "strong",
    [
        PASSPHRASE,
        "y7vGa3bUnHjLsTXq",  # 16 random letters and digits
        "xovjvsyjxdntxufm",  # 16 random lower-case letters
        "ΚαλημέραΚόσμε-2024!",
        "2ocSCh4J9MuxekbM5sc2dQ",
    ],
)
def test_strong_passphrases_pass(strong: str) -> None:
    assert passphrase_weakness(strong) is None
    assert validation.transform_key(strong) == strong
