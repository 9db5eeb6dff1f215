"""Process settings, read from VEILSYNC_* environment variables."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

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
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
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
    sync_task_queue: str = "sync"
    # Task queue the API starts model training and sampling on, ML workers poll, and sync runs
    # hand synthesized tables to.
    ml_task_queue: str = "ml"
    log_level: str = "INFO"
    # Largest job the CLI sends and the API takes, in bytes: a job file on disk for the CLI,
    # the encoded Job message for the API. Either refuses a bigger one before parsing it.
    max_job_bytes: int = 1_000_000

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
