"""Keys of `random: true` transformers. Such a transformer swaps the job's key for one of its
run: outputs then differ from run to run, so nothing links them to an earlier sync, while
within the run the same input still gives the same output in every table, key range and retry,
so a randomized key and its references still join."""

import hashlib
import secrets

# Keeps this derivation apart from any other keyed BLAKE2b of the job's key.
PERSON = b"veilsync-run"


def derive_run_key(job_key: bytes, run_id: str) -> bytes:
    """The key of every `random: true` transformer of the run `run_id`: a keyed BLAKE2b of the
    run's id under the job's key. Each step of the run derives it again, so it is never stored
    nor sent, not even encrypted in the run's history. Run ids are never reused (the API names
    a run `run-JOB-<random>`, a schedule appends the time it fires), so no two runs share a key,
    and the id, which is not secret, gives nothing without the job's key."""
    return hashlib.blake2b(
        run_id.encode(), key=hashlib.blake2b(job_key).digest(), person=PERSON
    ).digest()


def transformer_key(job_key: bytes, random: bool, run_key: bytes | None) -> bytes:
    """The key a transformer uses: the job's, or for a `random: true` one the run's; outside a
    run (a preview, a model's sample) a fresh key of its own."""
    if not random:
        return job_key
    return run_key if run_key is not None else secrets.token_bytes(32)
