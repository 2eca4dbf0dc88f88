"""Presentation contexts for C-GET (receive the stored syntax) and C-STORE."""

import pytest
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, JPEGLSLossless, MRImageStorage

from drimbox.dicom.dimse.contexts import (
    COMPRESSED,
    MAX_CONTEXTS,
    get_storage_contexts,
    store_contexts,
)


def test_known_classes_get_one_context_per_compressed_syntax() -> None:
    contexts, roles = get_storage_contexts({CTImageStorage, MRImageStorage})
    assert len(contexts) == 2 * (1 + len(COMPRESSED))
    ct = [c for c in contexts if c.abstract_syntax == CTImageStorage]
    assert ExplicitVRLittleEndian in ct[0].transfer_syntax
    assert [JPEGLSLossless] in [c.transfer_syntax for c in ct]
    assert {r.sop_class_uid for r in roles} == {CTImageStorage, MRImageStorage}
    assert all(r.scp_role for r in roles)


def test_default_and_large_sets_stay_within_the_context_limit() -> None:
    default, _ = get_storage_contexts(None)
    assert 0 < len(default) < MAX_CONTEXTS
    many = {f"1.2.3.{i}" for i in range(40)}
    contexts, _ = get_storage_contexts(many)
    assert len(contexts) == MAX_CONTEXTS - 1  # one left for the C-GET model
    assert {c.abstract_syntax for c in contexts[:40]} == many  # all classes uncompressed first


def test_store_contexts_one_per_pair_and_limit() -> None:
    pairs = [(CTImageStorage, ExplicitVRLittleEndian)] * 3 + [(CTImageStorage, JPEGLSLossless)]
    assert len(store_contexts(pairs)) == 2
    with pytest.raises(ValueError, match="exceed"):
        store_contexts((f"1.2.3.{i}", ExplicitVRLittleEndian) for i in range(MAX_CONTEXTS + 1))
