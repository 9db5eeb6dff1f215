"""Process settings, read from VEILSYNC_* environment variables."""

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from services.contract.ml_worker_temporal import ML_TASK_QUEUE
from services.contract.sync_worker_temporal import SYNC_TASK_QUEUE

# The file in data_dir where the API writes the embedded stack's first API key.
API_KEY_FILE = "api-key"

_GRPC_DEFAULT_MESSAGE_BYTES = 4 * 1024 * 1024
# Room for the rest of a request around its job (a CreateJobRequest's keys, say).
_GRPC_ENVELOPE_BYTES = 64 * 1024


class Settings(BaseSettings):
    """Where each part of Veilsync lives. Defaults describe the embedded stack."""

    model_config = SettingsConfigDict(env_prefix="VEILSYNC_")

    # Directory for the embedded stack's files: Temporal's SQLite file, the metadata
    # database, the secret key, logs and pid files.
    data_dir: Path = Path(".veilsync")
    # Address the API serves on and the CLI dials.
    api: str = "127.0.0.1:50051"
    # API key clients send; empty means the key file the API writes into data_dir.
    api_key: str = ""
    # PEM files of the API's own certificate and key: set both and the API serves TLS only.
    api_tls_cert: str = ""
    api_tls_key: str = ""
    # PEM CA bundle of client certificates; set, the API refuses clients without one it signed.
    api_tls_client_ca: str = ""
    # How the CLI dials the API: TLS when api_tls or api_ca_file is set (api_ca_file empty
    # trusts the system's roots), with a client certificate when the API asks for one.
    api_tls: bool = False
    api_ca_file: str = ""
    api_client_cert: str = ""
    api_client_key: str = ""
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    # TLS to Temporal. Any of the settings below turns it on; temporal_tls alone trusts the
    # system's CA roots (Temporal Cloud). A client cert and key together give mTLS.
    temporal_tls: bool = False
    temporal_tls_ca_file: str = ""
    temporal_tls_cert_file: str = ""
    temporal_tls_key_file: str = ""
    # Name the server's certificate is checked against, when it is not temporal_address's host
    # (a proxy or load balancer addressed by IP, say).
    temporal_tls_server_name: str = ""
    # Temporal Cloud API key, sent as a bearer token; implies TLS.
    temporal_api_key: str = ""
    temporal_ui_port: int = 8233
    # Port of the API's codec server (Temporal's HTTP codec-server protocol, on the API's
    # host), which decrypts payloads for the Temporal Web UI; 0 is off.
    codec_server_port: int = 0
    # Comma-separated origins the codec server answers cross-origin: the Web UI's.
    codec_server_origins: str = "http://localhost:8233,http://127.0.0.1:8233"
    # /encode lets a key holder write payloads workers trust; off unless asked for.
    codec_server_encode: bool = False
    # Largest request body the codec server reads, in bytes.
    codec_server_max_bytes: int = 4 * 1024 * 1024
    # A random token the codec server also accepts as the first segment of its path, in
    # place of an API key: set by `veilsync dev up` only, for the dev Web UI, which sends none.
    codec_server_ui_token: str = ""
    # SQLAlchemy URL of the metadata store; empty means a SQLite file in data_dir.
    database_url: str = ""
    # Fernet key (urlsafe base64, 32 bytes) encrypting secrets at rest; empty means a key file
    # generated into data_dir on first use.
    secret_key: str = ""
    # AES-256-GCM key (urlsafe base64, 32 bytes) of the Temporal payload codec; empty means a
    # key file generated into data_dir. Separate from secret_key so that either can be rotated
    # alone, and so that a Temporal operator given this key reads history without the store's
    # secrets. Every API and worker process of a deployment needs the same value.
    codec_key: str = ""
    # Task queue the API starts sync runs on, and sync workers poll.
    sync_task_queue: str = SYNC_TASK_QUEUE
    # Task queue the API starts model training and sampling on, ML workers poll, and sync runs
    # hand synthesized tables to.
    ml_task_queue: str = ML_TASK_QUEUE
    log_level: str = "INFO"
    # Where trained and uploaded models live, shared by the API and the ML workers: empty
    # means the local directory models_dir (default data_dir/models); s3://bucket/prefix
    # means an S3-compatible store, with credentials from the standard AWS_* variables.
    artifact_store: str = ""
    models_dir: Path | None = None
    # Endpoint of a non-AWS S3-compatible store (MinIO, Ceph): http://minio:9000.
    s3_endpoint_url: str = ""
    # "text" (one readable line per record) or "json" (one JSON object per line, for a log
    # shipper).
    log_format: Literal["text", "json"] = "text"
    # Interface the metrics endpoints listen on.
    metrics_host: str = "127.0.0.1"
    # Port of this process's Prometheus endpoint for Veilsync's own metrics; 0 serves none.
    metrics_port: int = 0
    # Port of this process's Prometheus endpoint for the Temporal SDK's metrics (served by
    # the SDK's Rust core, hence a port of its own); 0 serves none.
    temporal_metrics_port: int = 0
    # Whether connection URLs may carry options that make a worker read its local files or
    # sockets (libpq passfile, sslkey, options, a socket-directory host; MySQL unix_socket,
    # read_default_file, ssl_* files...). Off: an account's user would choose what the
    # worker's host reads. On for deployments whose users are trusted with those hosts.
    allow_local_url_options: bool = False
    # Largest job the CLI sends and the API takes, in bytes: a job file on disk for the CLI,
    # the encoded Job message for the API. Either refuses a bigger one before parsing it.
    max_job_bytes: int = 1_000_000
    # How the sync worker reads PostgreSQL's COPY stream: "compiled" joins its rows in a small
    # C loop built on first use (psycopg's path where that cannot be built), "psycopg" hands
    # each row to Python.
    copy_reader: Literal["compiled", "psycopg"] = "compiled"
    # How the sync worker's rows travel between two PostgreSQL databases: "auto" in binary COPY
    # form wherever every column's type allows it (services/engine/copy/wire.py), "csv" always
    # as text, the way every other pair of databases goes.
    copy_format: Literal["auto", "csv"] = "auto"

    def grpc_message_bytes(self) -> int:
        """The largest gRPC message the API and the CLI take: gRPC's default 4 MiB, or more
        when max_job_bytes asks for it, so a job within the limit is never refused by gRPC
        (RESOURCE_EXHAUSTED) before the API can say which limit it passed."""
        return max(_GRPC_DEFAULT_MESSAGE_BYTES, self.max_job_bytes + _GRPC_ENVELOPE_BYTES)

    def api_key_file(self) -> Path:
        return self.data_dir / API_KEY_FILE

    def metadata_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'metadata.db').resolve()}"
