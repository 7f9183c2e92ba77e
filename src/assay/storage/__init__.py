"""Storage: the schema and the one database object every service goes through."""

from assay.storage.db import Database
from assay.storage.models import Base

__all__ = ["Base", "Database"]
