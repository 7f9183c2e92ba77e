"""Settings: environment variables prefixed ``ASSAY_`` and the same options on the CLI."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    max_cell_bytes: int = Field(
        default=1_000_000, description="Largest cell an import accepts, in UTF-8 bytes."
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

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assay.db').resolve()}"
