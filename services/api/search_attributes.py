"""The run search attributes on the namespace, checked once at API start-up.

The embedded stack lets the API register them. A managed namespace (Temporal Cloud, or a
cluster whose operators keep the operator API to themselves) refuses registration: there they
are registered out of band, and the API only needs to see that they are there.
"""

import logging
from typing import Protocol

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    AddSearchAttributesResponse,
    ListSearchAttributesRequest,
    ListSearchAttributesResponse,
)
from temporalio.service import RPCError, RPCStatusCode

from services.api import run_search

_log = logging.getLogger(__name__)

REQUIRED = {
    key.name: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD
    for key in (run_search.ACCOUNT, run_search.JOB)
}


class SearchAttributesMissing(RuntimeError):
    """The namespace lacks run search attributes and the API may not add them."""


class OperatorService(Protocol):
    """The two calls of Temporal's operator service used here (client.operator_service)."""

    async def add_search_attributes(
        self, req: AddSearchAttributesRequest
    ) -> AddSearchAttributesResponse: ...

    async def list_search_attributes(
        self, req: ListSearchAttributesRequest
    ) -> ListSearchAttributesResponse: ...


async def ensure_search_attributes(operator: OperatorService, namespace: str) -> None:
    """Register the run search attributes, or make sure they exist; adding existing ones
    again is harmless."""
    try:
        await operator.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=REQUIRED)
        )
        return
    except RPCError as err:
        if err.status == RPCStatusCode.ALREADY_EXISTS:
            return
        refusal = err
    try:
        listed = await operator.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as err:
        raise SearchAttributesMissing(
            f"cannot register search attributes on namespace {namespace!r} ({refusal.message}) "
            f"nor list them ({err.message}); register {_describe(REQUIRED)} out of band"
        ) from err
    missing = missing_attributes(dict(listed.custom_attributes))
    if missing:
        raise SearchAttributesMissing(
            f"namespace {namespace!r} lacks search attributes {_describe(missing)} and refused "
            f"to register them ({refusal.message}); register them out of band, e.g. "
            f"`temporal operator search-attribute create --name <name> --type Keyword` or "
            f"`tcld namespace search-attributes add`"
        ) from refusal
    _log.info(
        "search attributes already on namespace %s (registering them was refused: %s)",
        namespace,
        refusal.message,
    )


def missing_attributes(
    existing: dict[str, "IndexedValueType.ValueType"],
) -> dict[str, "IndexedValueType.ValueType"]:
    """The required attributes absent from existing, or present with another type."""
    return {name: kind for name, kind in REQUIRED.items() if existing.get(name) != kind}


def _describe(attributes: dict[str, "IndexedValueType.ValueType"]) -> str:
    return ", ".join(
        f"{name} ({IndexedValueType.Name(kind).removeprefix('INDEXED_VALUE_TYPE_').title()})"
        for name, kind in sorted(attributes.items())
    )
