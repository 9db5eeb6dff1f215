"""The built-in transformers."""

import pyarrow as pa

from services.sync_worker.engine.schema import TypeFamily
from services.sync_worker.engine.transformers import dictionaries
from services.sync_worker.engine.transformers.base import Transformer
from veilsync.v1 import transformer_pb2


class Passthrough(Transformer):
    name = "passthrough"
    description = "Copies the value unchanged."
    data_types = tuple(TypeFamily)

    def transform(self, values: pa.Array, max_length: int | None = None) -> pa.Array:
        return values

    def _transform(self, values: list[str]) -> list[str | None]:
        return list(values)


class Null(Transformer):
    name = "null"
    description = "Writes NULL in place of every value; the column must be nullable."
    data_types = tuple(TypeFamily)
    writes_null = True

    def transform(self, values: pa.Array, max_length: int | None = None) -> pa.Array:
        return pa.nulls(len(values), pa.string())

    def _transform(self, values: list[str]) -> list[str | None]:
        return [None] * len(values)


class TransformHash(Transformer):
    name = "transform_hash"
    description = "Replaces the value with its keyed BLAKE2b hash, hex encoded."
    options: transformer_pb2.TransformHash

    def _transform(self, values: list[str]) -> list[str | None]:
        keep = self.options.length or 64
        return [d.hex()[:keep] for d in self._digests(values, size=32)]


def _pick(words: tuple[str, ...], digest: bytes, avoid: str = "") -> str:
    """A word chosen by the digest, never equal (case-insensitively) to `avoid`."""
    index = int.from_bytes(digest[:8], "little") % len(words)
    if words[index].lower() == avoid.lower():
        index = (index + 1) % len(words)
    return words[index]


class TransformFirstName(Transformer):
    name = "transform_first_name"
    description = "Replaces a first name with a common first name; never returns the input."

    def _transform(self, values: list[str]) -> list[str | None]:
        names = dictionaries.first_names()
        return [_pick(names, d, v) for v, d in zip(values, self._digests(values), strict=True)]


class TransformLastName(Transformer):
    name = "transform_last_name"
    description = "Replaces a last name with a common last name; never returns the input."

    def _transform(self, values: list[str]) -> list[str | None]:
        names = dictionaries.last_names()
        return [_pick(names, d, v) for v, d in zip(values, self._digests(values), strict=True)]


class TransformEmail(Transformer):
    name = "transform_email"
    description = (
        "Replaces an email address with first.last.NNNN at an example domain, or at the "
        "original domain with preserve_domain."
    )
    options: transformer_pb2.TransformEmail

    def _transform(self, values: list[str]) -> list[str | None]:
        first, last = dictionaries.first_names(), dictionaries.last_names()
        domains = dictionaries.SAFE_EMAIL_DOMAINS
        out: list[str | None] = []
        for value, d in zip(values, self._digests(values), strict=True):
            local = f"{_pick(first, d[:8])}.{_pick(last, d[8:])}.{d[14] << 8 | d[15]:05d}"
            original_domain = value.rpartition("@")[2] if "@" in value else ""
            if self.options.preserve_domain and original_domain:
                domain = original_domain
            else:
                domain = domains[d[13] % len(domains)]
            out.append(f"{local.lower()}@{domain}")
        return out


class Mask(Transformer):
    name = "mask"
    description = "Keeps the first and last characters and masks the ones between."
    options: transformer_pb2.Mask

    def _transform(self, values: list[str]) -> list[str | None]:
        first, last = max(self.options.keep_first, 0), max(self.options.keep_last, 0)
        char = self.options.mask_char[:1] or "*"
        out: list[str | None] = []
        for v in values:
            if first + last >= len(v):
                out.append(char * len(v))  # keeping everything would leak the value
            else:
                out.append(v[:first] + char * (len(v) - first - last) + v[len(v) - last :])
        return out


CATALOG: dict[str, type[Transformer]] = {
    cls.name: cls
    for cls in (
        Passthrough,
        Null,
        TransformHash,
        TransformEmail,
        TransformFirstName,
        TransformLastName,
        Mask,
    )
}
