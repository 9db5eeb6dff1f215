"""Addresses: cities, states, ZIP codes, countries and streets, composed from Faker's lists."""

import pyarrow as pa
import pyarrow.compute as pc

from services.engine.transformers import dictionaries
from services.engine.transformers.base import Transformer, pick
from services.engine.transformers.prf import U64, below, derive
from veilsync.v1 import transformer_pb2 as t


def cities(h: U64) -> pa.Array:
    """Faker's city formats ("North Anaton", "Lake Mary", "Jamesland") from word lists."""
    prefix = pc.binary_join_element_wise(pick(dictionaries.city_prefixes(), h), "", " ")
    suffix = pick(dictionaries.city_suffixes(), derive(h, 1))
    first = pick(dictionaries.first_names(), derive(h, 2))
    form = below(derive(h, 3), 3)
    has_prefix = pa.array(form != 2)
    has_suffix = pa.array(form != 1)
    return pc.binary_join_element_wise(
        pc.if_else(has_prefix, prefix, ""), first, pc.if_else(has_suffix, suffix, ""), ""
    )


def zipcodes(h: U64) -> pa.Array:
    # 00501 is the lowest ZIP code in use: below it nothing looks real.
    return pc.utf8_lpad(pa.array(501 + below(h, 99_950 - 501)).cast(pa.string()), 5, "0")


def streets(h: U64) -> pa.Array:
    """A building number and a street: "4821 Miller Avenue"."""
    number = pa.array(1 + below(derive(h, 4), 9_999)).cast(pa.string())
    name = pick(dictionaries.last_names(), derive(h, 5))
    suffix = pick(dictionaries.street_suffixes(), derive(h, 6))
    return pc.binary_join_element_wise(number, name, suffix, " ")


class GenerateCity(Transformer[t.GenerateCity]):
    name = "generate_city"
    description = "Generates a US-style city name."

    def _transform(self, values: pa.Array) -> pa.Array:
        return cities(self._hashes(values, 1)[:, 0])


class GenerateState(Transformer[t.GenerateState]):
    name = "generate_state"
    description = "Generates a US state code, or its full name with generate_full_name."

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        full = self.options.generate_full_name
        return pick(dictionaries.states() if full else dictionaries.state_codes(), h)


class GenerateZipcode(Transformer[t.GenerateZipcode]):
    name = "generate_zipcode"
    description = "Generates a five-digit US ZIP code."

    def _transform(self, values: pa.Array) -> pa.Array:
        return zipcodes(self._hashes(values, 1)[:, 0])


class GenerateCountry(Transformer[t.GenerateCountry]):
    name = "generate_country"
    description = "Generates an ISO 3166 alpha-2 country code, or a name with generate_full_name."

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        full = self.options.generate_full_name
        return pick(dictionaries.countries() if full else dictionaries.country_codes(), h)


class GenerateStreetAddress(Transformer[t.GenerateStreetAddress]):
    name = "generate_street_address"
    description = "Generates a street address such as 4821 Miller Avenue."

    def _transform(self, values: pa.Array) -> pa.Array:
        return streets(self._hashes(values, 1)[:, 0])


class GenerateFullAddress(Transformer[t.GenerateFullAddress]):
    name = "generate_full_address"
    description = "Generates street, city, state code and ZIP code on one line."

    def _transform(self, values: pa.Array) -> pa.Array:
        h = self._hashes(values, 1)[:, 0]
        state = pick(dictionaries.state_codes(), derive(h, 7))
        place = pc.binary_join_element_wise(state, zipcodes(derive(h, 8)), " ")
        return pc.binary_join_element_wise(streets(h), cities(h), place, ", ")
