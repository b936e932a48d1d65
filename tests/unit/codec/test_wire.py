from __future__ import annotations

import pytest

from pipeline.codec import wire


def test_frame_is_magic_zero_then_big_endian_id() -> None:
    assert wire.frame(258, b"body") == b"\x00\x00\x00\x01\x02body"
    assert wire.header(1) == b"\x00\x00\x00\x00\x01"


def test_unframe_round_trip() -> None:
    schema_id, body = wire.unframe(wire.frame(2**31 - 1, b"\x02\x04"))
    assert schema_id == 2**31 - 1
    assert bytes(body) == b"\x02\x04"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "0 bytes is shorter than the 5-byte", id="empty"),
        pytest.param(b"\x00\x00\x01", "3 bytes is shorter", id="truncated header"),
        pytest.param(b"\x01\x00\x00\x00\x01x", "magic byte is 1, expected 0", id="wrong magic"),
        pytest.param(b"\xff\x00\x00\x00\x01x", "magic byte is 255", id="magic 255"),
    ],
)
def test_unframe_rejects_what_is_not_wire_format(data: bytes, message: str) -> None:
    with pytest.raises(wire.WireFormatError, match=message):
        wire.unframe(data)
