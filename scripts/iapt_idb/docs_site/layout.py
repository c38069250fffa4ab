"""The site's favicon (the page frame and every word are in templates/, the style sheet is templates/site.css)."""

from __future__ import annotations


def favicon() -> bytes:
    """A 16x16 NHS-blue square as an .ico (PNG inside), so no server answers a favicon request with 404."""
    import struct
    import zlib

    size = 16
    raw = b"".join(b"\x00" + bytes((0x00, 0x5E, 0xB8)) * size for _ in range(size))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )
    return struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), 22) + png
