"""The simulator streams files with pynetdicom's chunked mode only while it sends: the setting is
process-wide, and other code in the same process (the IOCM tests send a path with
``send_c_store``) must keep pynetdicom's default."""

from __future__ import annotations

from pynetdicom import _config

from drimbox.kit.pacs.sending import _chunked_mode


def test_chunked_mode_is_on_only_while_a_send_runs() -> None:
    assert _config.STORE_SEND_CHUNKED_DATASET is False
    with _chunked_mode():
        assert _config.STORE_SEND_CHUNKED_DATASET is True
        with _chunked_mode():  # two simulator threads sending at once
            assert _config.STORE_SEND_CHUNKED_DATASET is True
        assert _config.STORE_SEND_CHUNKED_DATASET is True  # the other one is still sending
    assert _config.STORE_SEND_CHUNKED_DATASET is False
