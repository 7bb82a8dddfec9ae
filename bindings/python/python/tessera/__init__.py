"""tessera: SuperTokens' session protocol on a Rust engine, inside your Python process.

The web framework integration is :mod:`tessera.fastapi`. This module holds
the exceptions every part raises: each carries the HTTP answer the
FDI core chose (``status``, ``body``) and the ``rejection`` the response's
end needs (configured status, token clearing).
"""

from __future__ import annotations

import json
from typing import Any, Optional

from ._tessera import (
    ConfigError,
    Engine,
    InternalError,
    InvalidClaimError,
    InvalidInputError,
    Rejection,
    TesseraError,
    TokenTheftDetectedError,
    TryRefreshTokenError,
    UnauthorisedError,
)

__all__ = [
    "ConfigError",
    "Engine",
    "InternalError",
    "InvalidClaimError",
    "InvalidInputError",
    "Rejection",
    "TesseraError",
    "TokenTheftDetectedError",
    "TryRefreshTokenError",
    "UnauthorisedError",
]


def _arg(exc: BaseException, i: int) -> Any:
    args = exc.args
    return args[i] if len(args) > i else None


def _status(self: TesseraError) -> int:
    value = _arg(self, 1)
    return value if isinstance(value, int) else 500


def _body(self: TesseraError) -> str:
    value = _arg(self, 2)
    return value if isinstance(value, str) else '{"message":"internal error"}'


def _rejection(self: TesseraError) -> Optional[Rejection]:
    value = _arg(self, 3)
    return value if isinstance(value, Rejection) else None


def _payload(self: TesseraError) -> Any:
    return json.loads(_body(self))


def _str(self: TesseraError) -> str:
    value = _arg(self, 0)
    return value if isinstance(value, str) else self.__class__.__name__


# The exceptions are made in Rust (their args are (message, status, body,
# rejection)); these names make them readable.
setattr(TesseraError, "status", property(_status, doc="The HTTP status of the answer (before configuration)."))
setattr(TesseraError, "body", property(_body, doc="The JSON body of the answer, as text."))
setattr(TesseraError, "json", property(_payload, doc="The JSON body of the answer, parsed."))
setattr(TesseraError, "rejection", property(_rejection, doc="What the response's end must do (opaque)."))
setattr(TesseraError, "__str__", _str)
