"""Settings: environment variables prefixed ``ASSAY_`` and the same options on the CLI."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of assay; each is documented in ``docs/configuration.md``."""

    model_config = SettingsConfigDict(env_prefix="ASSAY_", extra="ignore")

    data_dir: Path = Field(
        default=Path("assay-data"),
        description="Folder for the embedded database, uploads and exports.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default: the SQLite file assay.db in the data dir. "
        "PostgreSQL: postgresql+psycopg://user@host/db.",
    )
    host: str = Field(default="127.0.0.1", description="Address the server listens on.")
    port: int = Field(default=8000, description="Port the server listens on.")
    token: SecretStr | None = Field(
        default=None,
        description="Access token: when set, every /api request needs Authorization: Bearer "
        "<token> or the session cookie of the one-time login link that assay serve prints. "
        "Required to listen on an address other than loopback.",
    )
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Host names the server answers besides loopback ones (localhost, "
        "127.0.0.1, [::1]); comma-separated; * answers any.",
    )
    max_cell_bytes: int = Field(
        default=1_000_000, description="Largest cell an import accepts, in UTF-8 bytes."
    )
    max_upload_bytes: int = Field(
        default=1 << 30,
        description="Largest upload the server accepts, in bytes (HTTP 413 beyond; the "
        "request body, as it arrives), and the most an Excel or Parquet file may unpack to "
        "on any import. The CLI reads local files without this cap on their size.",
    )
    executor: str = Field(
        default="local",
        description="Where the pure work of jobs runs: local (in the server) or "
        "dask://host:port (the workers of that Dask scheduler; needs assay[dask]).",
    )
    import_chunk_size: int = Field(
        default=5_000,
        description="Records a large import writes per transaction; larger imports are "
        "staged in such chunks and appear at once when the last one commits.",
    )
    exact_search_below: int = Field(
        default=50_000,
        description="Embeddings of at most this many records are searched exactly; larger "
        "ones through an HNSW index (usearch) kept next to their vectors in the data dir.",
    )

    @field_validator("token", mode="before")
    @classmethod
    def _no_empty_token(cls, value: Any) -> Any:
        return None if value == "" else value  # ASSAY_TOKEN= (empty) sets no token

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _comma_separated(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [name.strip() for name in value.split(",") if name.strip()]
        return value

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assay.db').resolve()}"
