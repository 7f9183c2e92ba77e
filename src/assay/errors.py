"""The one error tree of assay.

Every error a user can cause is an :class:`AssayError` carrying an HTTP status and a
user-facing message; the API renders them in one JSON shape, the CLI as one line on stderr.
"""

from __future__ import annotations

from typing import Any


class AssayError(Exception):
    """Base of all errors that assay reports to its users."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, **detail: Any) -> None:
        super().__init__(message)
        self.message = message
        self.detail = {k: v for k, v in detail.items() if v is not None}

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "detail": self.detail}

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt from its attributes, not by calling __init__ again (whose arguments a
        # subclass may change): errors raised on a Dask worker come back as they were.
        return (_rebuild, (type(self), self.args), self.__dict__)


def _rebuild(cls: type[AssayError], args: tuple[Any, ...]) -> AssayError:
    return cls.__new__(cls, *args)


class Unauthorized(AssayError):
    """A request without the server's access token (see ``assay.api.door``)."""

    status_code = 401
    code = "unauthorized"


class Forbidden(AssayError):
    """A request the server's door refuses whoever sends it: a foreign Host or Origin."""

    status_code = 403
    code = "forbidden"


class NotFound(AssayError):
    status_code = 404
    code = "not_found"


class Conflict(AssayError):
    status_code = 409
    code = "conflict"


class ValidationError(AssayError):
    status_code = 422
    code = "invalid"


class TooLarge(AssayError):
    """An upload over the server's limit (``ASSAY_MAX_UPLOAD_BYTES``)."""

    status_code = 413
    code = "too_large"


class ImportFileError(ValidationError):
    """A file that cannot be imported; ``detail`` names the file, row and column."""

    code = "invalid_file"


class JobCancelled(AssayError):
    status_code = 409
    code = "cancelled"
