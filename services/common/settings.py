"""Process settings, read from VEILSYNC_* environment variables."""

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Where each part of Veilsync lives. Defaults describe the embedded stack."""

    model_config = SettingsConfigDict(env_prefix="VEILSYNC_")

    # Directory for the embedded stack's files: Temporal's SQLite file, the metadata
    # database, the secret key, logs and pid files.
    data_dir: Path = Path(".veilsync")
    # Address the API serves on and the CLI dials.
    api: str = "127.0.0.1:50051"
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    temporal_ui_port: int = 8233
    # SQLAlchemy URL of the metadata store; empty means a SQLite file in data_dir.
    database_url: str = ""
    # Fernet key (urlsafe base64, 32 bytes) encrypting secrets at rest; empty means a key file
    # generated into data_dir on first use.
    secret_key: str = ""
    log_level: str = "INFO"

    def metadata_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'metadata.db').resolve()}"
