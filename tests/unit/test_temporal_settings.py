"""How VEILSYNC_TEMPORAL_* settings become Client.connect's arguments, and how the API checks
the run search attributes on a namespace it may not be allowed to change."""

from collections.abc import Mapping
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    AddSearchAttributesResponse,
    ListSearchAttributesRequest,
    ListSearchAttributesResponse,
)
from temporalio.service import RPCError, RPCStatusCode, TLSConfig

from services.api.search_attributes import SearchAttributesMissing, ensure_search_attributes
from services.common.settings import Settings
from services.common.temporal import connect_args
from services.common.tls import TlsSettingsError
from tests.tls_certs import Pki, make_pki

KEYWORD = IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return make_pki(tmp_path / "pki")


def test_embedded_stack_dials_plaintext() -> None:
    args = connect_args(Settings(temporal_address="temporal:7233", temporal_namespace="prod"))
    assert args == {
        "target_host": "temporal:7233",
        "namespace": "prod",
        "api_key": None,
        "tls": False,
    }


def test_api_key_implies_tls_with_system_roots() -> None:
    args = connect_args(Settings(temporal_api_key="cloud-key"))
    assert args["api_key"] == "cloud-key"
    assert args["tls"] is True


def test_tls_alone_trusts_system_roots() -> None:
    assert connect_args(Settings(temporal_tls=True))["tls"] is True


def test_mtls_reads_ca_client_pair_and_server_name(pki: Pki) -> None:
    args = connect_args(
        Settings(
            temporal_tls_ca_file=str(pki.ca),
            temporal_tls_cert_file=str(pki.client_cert),
            temporal_tls_key_file=str(pki.client_key),
            temporal_tls_server_name="temporal.internal",
        )
    )
    assert args["tls"] == TLSConfig(
        server_root_ca_cert=pki.ca.read_bytes(),
        domain="temporal.internal",
        client_cert=pki.client_cert.read_bytes(),
        client_private_key=pki.client_key.read_bytes(),
    )


def test_ca_alone_is_server_only_tls(pki: Pki) -> None:
    tls = connect_args(Settings(temporal_tls_ca_file=str(pki.ca)))["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.server_root_ca_cert == pki.ca.read_bytes()
    assert tls.client_cert is None and tls.client_private_key is None


def test_cert_without_key_names_both_settings(pki: Pki) -> None:
    with pytest.raises(TlsSettingsError, match="VEILSYNC_TEMPORAL_TLS_CERT_FILE and VEILSYNC_"):
        connect_args(Settings(temporal_tls_cert_file=str(pki.client_cert)))


def test_missing_file_names_its_setting(tmp_path: Path) -> None:
    with pytest.raises(TlsSettingsError, match="VEILSYNC_TEMPORAL_TLS_CA_FILE: cannot read"):
        connect_args(Settings(temporal_tls_ca_file=str(tmp_path / "absent.pem")))


def test_settings_come_from_the_environment(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILSYNC_TEMPORAL_ADDRESS", "ns.acct.tmprl.cloud:7233")
    monkeypatch.setenv("VEILSYNC_TEMPORAL_NAMESPACE", "ns.acct")
    monkeypatch.setenv("VEILSYNC_TEMPORAL_TLS_CERT_FILE", str(pki.client_cert))
    monkeypatch.setenv("VEILSYNC_TEMPORAL_TLS_KEY_FILE", str(pki.client_key))
    args = connect_args(Settings())
    assert args["target_host"] == "ns.acct.tmprl.cloud:7233"
    assert args["namespace"] == "ns.acct"
    assert isinstance(args["tls"], TLSConfig)
    assert args["tls"].client_cert == pki.client_cert.read_bytes()


class FakeOperator:
    """An operator service that refuses or accepts registration, and lists what it holds."""

    def __init__(
        self,
        refuse: RPCStatusCode | None,
        existing: Mapping[str, IndexedValueType.ValueType] | None,
    ) -> None:
        self.refuse = refuse
        self.existing = existing
        self.added: dict[str, IndexedValueType.ValueType] = {}

    async def add_search_attributes(
        self, req: AddSearchAttributesRequest
    ) -> AddSearchAttributesResponse:
        if self.refuse is not None:
            raise RPCError("refused by test", self.refuse, b"")
        self.added.update(req.search_attributes)
        return AddSearchAttributesResponse()

    async def list_search_attributes(
        self, req: ListSearchAttributesRequest
    ) -> ListSearchAttributesResponse:
        if self.existing is None:
            raise RPCError("listing refused by test", RPCStatusCode.PERMISSION_DENIED, b"")
        return ListSearchAttributesResponse(custom_attributes=self.existing)


BOTH = {"VeilsyncAccountId": KEYWORD, "VeilsyncJobId": KEYWORD}


async def test_registers_when_allowed() -> None:
    operator = FakeOperator(refuse=None, existing={})
    await ensure_search_attributes(operator, "default")
    assert operator.added == BOTH


async def test_already_registered_is_fine() -> None:
    await ensure_search_attributes(FakeOperator(RPCStatusCode.ALREADY_EXISTS, None), "default")


async def test_refused_but_present_is_tolerated() -> None:
    await ensure_search_attributes(FakeOperator(RPCStatusCode.PERMISSION_DENIED, BOTH), "ns.acct")


async def test_refused_and_missing_names_each_missing_attribute() -> None:
    wrong_type = {
        "VeilsyncAccountId": KEYWORD,
        "VeilsyncJobId": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    }
    operator = FakeOperator(RPCStatusCode.PERMISSION_DENIED, wrong_type)
    with pytest.raises(SearchAttributesMissing) as caught:
        await ensure_search_attributes(operator, "ns.acct")
    message = str(caught.value)
    assert "VeilsyncJobId (Keyword)" in message
    assert "VeilsyncAccountId" not in message
    assert "refused by test" in message


async def test_refused_and_unlistable_names_all_required() -> None:
    operator = FakeOperator(RPCStatusCode.PERMISSION_DENIED, None)
    with pytest.raises(SearchAttributesMissing, match=r"VeilsyncAccountId.*VeilsyncJobId"):
        await ensure_search_attributes(operator, "ns.acct")
