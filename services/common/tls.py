"""TLS material named by settings: PEM files read once, at start-up, into the credentials each
side of a connection needs. A setting that names a missing file, or half a key pair, stops the
process with the setting's name rather than falling back to plaintext."""

from pathlib import Path

import grpc

from services.common.settings import Settings


class TlsSettingsError(ValueError):
    """TLS settings that cannot be used as given."""


def read_pem(path: str, setting: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise TlsSettingsError(f"VEILSYNC_{setting.upper()}: cannot read {path}: {err}") from err


def optional_pem(path: str, setting: str) -> bytes | None:
    return read_pem(path, setting) if path else None


def key_pair(
    cert: str, key: str, cert_setting: str, key_setting: str
) -> tuple[bytes, bytes] | None:
    """A certificate and its key, both or neither."""
    if bool(cert) != bool(key):
        raise TlsSettingsError(
            f"VEILSYNC_{cert_setting.upper()} and VEILSYNC_{key_setting.upper()} go together"
        )
    if not cert:
        return None
    return read_pem(cert, cert_setting), read_pem(key, key_setting)


def api_server_credentials(settings: Settings) -> grpc.ServerCredentials | None:
    """The API's TLS, or None to serve plaintext (the embedded stack on 127.0.0.1)."""
    pair = key_pair(settings.api_tls_cert, settings.api_tls_key, "api_tls_cert", "api_tls_key")
    if pair is None:
        if settings.api_tls_client_ca:
            raise TlsSettingsError(
                "VEILSYNC_API_TLS_CLIENT_CA needs VEILSYNC_API_TLS_CERT and VEILSYNC_API_TLS_KEY"
            )
        return None
    cert, key = pair
    client_ca = optional_pem(settings.api_tls_client_ca, "api_tls_client_ca")
    return grpc.ssl_server_credentials(
        [(key, cert)], root_certificates=client_ca, require_client_auth=client_ca is not None
    )


def api_channel_credentials(settings: Settings) -> grpc.ChannelCredentials | None:
    """How the CLI dials the API: TLS when told to, or None for plaintext."""
    pair = key_pair(
        settings.api_client_cert, settings.api_client_key, "api_client_cert", "api_client_key"
    )
    if not (settings.api_tls or settings.api_ca_file or pair):
        return None
    client_key, client_cert = (pair[1], pair[0]) if pair else (None, None)
    return grpc.ssl_channel_credentials(
        root_certificates=optional_pem(settings.api_ca_file, "api_ca_file"),
        private_key=client_key,
        certificate_chain=client_cert,
    )
