"""Presentation contexts proposed by the send path, and push target parsing."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEGLSLossless,
    MRImageStorage,
)

from drimbox.kit.pacs.push import parse_target
from drimbox.kit.pacs.sending import storage_contexts
from drimbox.kit.pacs.server import parse_destination


@dataclass
class Item:
    sop_class_uid: str
    transfer_syntax_uid: str
    sop_instance_uid: str = "1.2"
    path: str = "/x"


def test_one_context_per_sop_class_and_stored_syntax() -> None:
    contexts = storage_contexts(
        [
            Item(CTImageStorage, ExplicitVRLittleEndian),
            Item(CTImageStorage, ExplicitVRLittleEndian),
            Item(CTImageStorage, JPEGLSLossless),
            Item(MRImageStorage, ImplicitVRLittleEndian),
        ]
    )
    assert [(cx.abstract_syntax, cx.transfer_syntax) for cx in contexts] == [
        (CTImageStorage, [ExplicitVRLittleEndian, ImplicitVRLittleEndian]),
        (CTImageStorage, [JPEGLSLossless]),  # compressed data is never transcoded
        (MRImageStorage, [ImplicitVRLittleEndian, ExplicitVRLittleEndian]),
    ]


def test_at_most_128_contexts() -> None:
    items = [Item(f"1.2.840.10008.5.1.4.1.1.{n}", ExplicitVRLittleEndian) for n in range(200)]
    assert len(storage_contexts(items)) == 128


def test_targets_and_destinations() -> None:
    assert parse_target("DRIMBOX@127.0.0.1:11112") == ("DRIMBOX", "127.0.0.1", 11112)
    assert parse_destination("127.0.0.1:104") == ("127.0.0.1", 104)
    for bad in ("DRIMBOX", "@h:1", "A@h", "A@h:0", "A@:1"):
        with pytest.raises(ValueError):
            parse_target(bad)
    with pytest.raises(ValueError):
        parse_destination("host")
