"""Email addresses: generated ones and keyed replacements of real ones."""

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from services.common.errors import DataRejectedError, InvalidArgumentError
from services.engine.schema import Column
from services.engine.transformers import dictionaries
from services.engine.transformers.base import (
    Transformer,
    check_length_fits,
    option_error,
    pick,
)
from services.engine.transformers.chars import cut
from services.engine.transformers.prf import U64, digits
from veilsync.v1 import transformer_pb2 as t

# Deliberately loose: anything with one '@' and a dotted domain is treated as an address.
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
_DOMAIN = r"@(?P<domain>[^@]+)$"
# "x@example.com": the shortest address at a generated domain.
SHORTEST = 2 + max(len(d) for d in dictionaries.SAFE_EMAIL_DOMAINS)
_ACTIONS = t.InvalidEmailAction
_NULL = pa.scalar(None, pa.string())


def generated_email(h: U64) -> tuple[pa.Array, pa.Array]:
    """first.last.NNNNNNNNNN and an RFC 2606 domain from two hash words per row. Ten digits
    make the space wide enough that a UNIQUE email column practically never sees a clash."""
    number = pa.array((h[:, 1] >> np.uint64(8)) % np.uint64(10**10)).cast(pa.string())
    local = pc.binary_join_element_wise(
        pick(dictionaries.lower_first_names(), h[:, 0]),
        pick(dictionaries.lower_last_names(), h[:, 0] >> np.uint64(32)),
        pc.utf8_lpad(number, 10, "0"),
        ".",
    )
    return local, pick(dictionaries.safe_email_domains(), h[:, 1] & np.uint64(0xFF))


def fit_email(outputs: pa.Array, max_length: int) -> pa.Array:
    """Addresses longer than the column lose characters from the local part, so the domain and
    the '@' survive; what is not an address is cut at the end."""
    too_long = pc.greater(pc.utf8_length(outputs), max_length)
    if not pc.any(too_long).as_py():
        return outputs
    parts = pc.extract_regex(outputs, r"^(?P<local>.*)@(?P<domain>[^@]*)$")
    local, domain = pc.struct_field(parts, [0]), pc.struct_field(parts, [1])
    room = pc.subtract(max_length - 1, pc.utf8_length(domain))
    room = np.maximum(pc.fill_null(room, 1).to_numpy(zero_copy_only=False), 1)
    # A local part may not end with a dot.
    local = pc.utf8_rtrim(cut(pc.fill_null(local, ""), room.astype(np.int64)), ".")
    shortened = pc.binary_join_element_wise(local, domain, "@")
    fitted = pc.if_else(too_long, pc.coalesce(shortened, outputs), outputs)
    return pc.utf8_slice_codeunits(fitted, 0, max_length)


def _local_of_length(h: U64, values: pa.Array, domain: pa.Array) -> pa.Array:
    """A dot-free local part (firstlastNNN...) giving the output the input's length, or one
    character where the domain alone is as long as the input."""
    room = pc.subtract(pc.utf8_length(values), pc.add(pc.utf8_length(domain), 1))
    room = np.maximum(room.to_numpy(zero_copy_only=False), 1).astype(np.int64)
    filler = pc.binary_repeat(digits(h[:, 1], 8, 2), int(room.max()) // 8 + 1)
    long = pc.binary_join_element_wise(
        pick(dictionaries.lower_first_names(), h[:, 0]),
        pick(dictionaries.lower_last_names(), h[:, 0] >> np.uint64(32)),
        filler,
        "",
    )
    return cut(long, room)


class GenerateEmail(Transformer[t.GenerateEmail]):
    name = "generate_email"
    description = "Generates first.last.NNNNNNNNNN at an example domain (RFC 2606)."

    @classmethod
    def check_column(cls, options: t.GenerateEmail, column: Column, field: str) -> None:
        if column.max_length and column.max_length < SHORTEST:
            raise InvalidArgumentError(
                field, f"addresses need {SHORTEST} characters; {column.name} holds fewer"
            )

    def _transform(self, values: pa.Array) -> pa.Array:
        return pc.binary_join_element_wise(*generated_email(self._hashes(values, 2)), "@")

    def _fit(self, outputs: pa.Array, max_length: int) -> pa.Array:
        return fit_email(outputs, max_length)


class TransformEmail(Transformer[t.TransformEmail]):
    """Keyed outputs are unique in practice, not by construction: the space is 690 first names
    x 1000 last names x 10^10 numbers x 3 domains, about 2 x 10^16, so n distinct inputs share
    an output in about n^2 / (4 x 10^16) pairs (one chance in 40,000 for a million addresses,
    a quarter of a pair for a hundred million). Such a clash on a UNIQUE column fails the
    table loudly rather than dropping a row; transform_hash is unique by construction."""

    name = "transform_email"
    description = (
        "Replaces an email address with first.last.NNNNNNNNNN at an example domain (RFC 2606), or "
        "at the original domain with preserve_domain; optionally as long as the input."
    )

    @classmethod
    def check_options(cls, options: t.TransformEmail, field: str) -> None:
        for i, domain in enumerate(options.excluded_domains):
            if not domain or "@" in domain or domain != domain.strip():
                raise option_error(field, f"excluded_domains[{i}]", f"{domain!r} is not a domain")
        if options.invalid_email_action not in _ACTIONS.values():
            raise option_error(
                field, "invalid_email_action", f"unknown action {options.invalid_email_action}"
            )

    @classmethod
    def check_column(cls, options: t.TransformEmail, column: Column, field: str) -> None:
        if options.invalid_email_action == _ACTIONS.INVALID_EMAIL_ACTION_NULL and not (
            column.nullable
        ):
            raise option_error(
                field, "invalid_email_action", f"writes NULL but {column.name} is NOT NULL"
            )
        if not options.preserve_domain:
            check_length_fits(column, field, "preserve_domain", SHORTEST)

    def _transform(self, values: pa.Array) -> pa.Array:
        opts = self.options
        h = self._hashes(values, 2)
        local, domain = generated_email(h)
        if opts.preserve_domain or opts.excluded_domains:
            original = pc.struct_field(pc.extract_regex(values, _DOMAIN), [0])
            listed = pc.is_in(
                pc.utf8_lower(original),
                pa.array([d.lower() for d in opts.excluded_domains], pa.string()),
            )
            # excluded_domains are the exceptions to preserve_domain, either way round.
            keep = pc.xor(pc.fill_null(listed, False), pa.scalar(opts.preserve_domain))
            domain = pc.coalesce(pc.if_else(keep, original, _NULL), domain)
        if opts.preserve_length:
            local = _local_of_length(h, values, domain)
        outputs = pc.binary_join_element_wise(local, domain, "@")
        return self._handle_invalid(values, outputs)

    def _handle_invalid(self, values: pa.Array, outputs: pa.Array) -> pa.Array:
        action = self.options.invalid_email_action
        if action in (
            _ACTIONS.INVALID_EMAIL_ACTION_UNSPECIFIED,
            _ACTIONS.INVALID_EMAIL_ACTION_GENERATE,
        ):
            return outputs
        valid = pc.match_substring_regex(values, EMAIL)
        if pc.all(valid).as_py():
            return outputs
        if action == _ACTIONS.INVALID_EMAIL_ACTION_REJECT:
            # The count only: the values themselves are exactly what must not reach a log.
            bad = len(values) - pc.sum(valid).as_py()
            raise DataRejectedError(
                f"transform_email: {bad} values are not email addresses "
                "(invalid_email_action is reject)"
            )
        fallback = values if action == _ACTIONS.INVALID_EMAIL_ACTION_PASSTHROUGH else _NULL
        return pc.if_else(valid, outputs, fallback)

    def _fit(self, outputs: pa.Array, max_length: int) -> pa.Array:
        return fit_email(outputs, max_length)
