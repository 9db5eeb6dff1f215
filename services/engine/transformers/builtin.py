"""The catalog: every built-in transformer by its name, which is its field name in
TransformerConfig's oneof."""

from google.protobuf.message import Message

from services.engine.transformers import (
    address,
    basic,
    email,
    expression,
    identity,
    numbers,
    person,
    phone,
    text,
)
from services.engine.transformers.base import Transformer

_CLASSES: tuple[type[Transformer[Message]], ...] = (  # type: ignore[assignment]
    basic.Passthrough,
    basic.Null,
    basic.Mask,
    basic.GenerateDefault,
    identity.TransformHash,
    identity.TransformUuid,
    identity.TransformScrambleIdentity,
    identity.GenerateUuid,
    identity.GenerateSha256Hash,
    identity.GenerateSsn,
    identity.GenerateCardNumber,
    email.TransformEmail,
    email.GenerateEmail,
    person.TransformFirstName,
    person.TransformLastName,
    person.TransformFullName,
    person.GenerateFirstName,
    person.GenerateLastName,
    person.GenerateFullName,
    person.GenerateUsername,
    person.GenerateGender,
    address.GenerateCity,
    address.GenerateState,
    address.GenerateZipcode,
    address.GenerateCountry,
    address.GenerateStreetAddress,
    address.GenerateFullAddress,
    phone.TransformE164PhoneNumber,
    phone.TransformPhoneNumber,
    phone.TransformInt64PhoneNumber,
    phone.GenerateE164PhoneNumber,
    phone.GenerateStringPhoneNumber,
    phone.GenerateInt64PhoneNumber,
    numbers.TransformInt64,
    numbers.TransformFloat64,
    numbers.GenerateInt64,
    numbers.GenerateFloat64,
    numbers.GenerateBool,
    numbers.GenerateUnixTimestamp,
    numbers.GenerateUtcTimestamp,
    text.TransformString,
    text.TransformCharacterScramble,
    text.GenerateString,
    text.GenerateCategorical,
    text.GenerateBusinessName,
    text.GenerateIpAddress,
    expression.TransformExpression,
)

CATALOG: dict[str, type[Transformer[Message]]] = {cls.name: cls for cls in _CLASSES}
