"""``drimbox kit wado``: the RAD-107 (WADO-RS) client simulator."""

from __future__ import annotations

from .client import PartInfo, WadoResult, describe_part, fetch
from .request import ANS_ACCEPT, LOSSY_FIRST_ACCEPT, WadoRequest, accept_line

__all__ = [
    "ANS_ACCEPT",
    "LOSSY_FIRST_ACCEPT",
    "PartInfo",
    "WadoRequest",
    "WadoResult",
    "accept_line",
    "describe_part",
    "fetch",
]
