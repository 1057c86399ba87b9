"""What the bytes of a JPEG, PNG or TIFF file say before anything decodes them.

Pure byte parsing, no Pillow and no Blender, so every decoder gets the same answers:

- :func:`jpeg_segments` walks a JPEG's marker segments (the only walker here): the EXIF block
  and the completeness check both read it;
- :func:`exif_tags` and :func:`exif_orientation` read EXIF (JPEG APP1 or a TIFF header);
- :func:`check_complete` refuses JPEG and PNG files cut short (Blender would decode them
  silently as grey).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

from .errors import ImageError

#: EXIF tags read here: orientation, the Exif sub-IFD pointer, focal length in 35 mm film.
ORIENTATION, EXIF_IFD, FOCAL_35MM = 0x0112, 0x8769, 0xA405

JPEG_START = b"\xff\xd8"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: JPEG markers: start of scan, end of image, the EXIF application segment
SOS, EOI, APP1 = 0xDA, 0xD9, 0xE1


def jpeg_segments(data: bytes) -> Iterator[tuple[int, int, int]]:
    """The marker segments of a JPEG up to its first scan, in file order.

    Yields ``(marker, start, end)``: the marker byte (``0xE1`` for APP1, ...), and the slice
    ``data[start:end]`` that holds the segment's payload (after its two length bytes). Fill
    bytes and markers without a payload are stepped over. The walk stops after yielding the
    start of scan (``SOS``; its ``end`` is where the entropy-coded data begins) or the end of
    image, or where the data stops looking like a JPEG (a truncated or damaged file).
    """
    if data[:2] != JPEG_START:
        return
    pos = 2
    while pos + 4 <= len(data) and data[pos] == 0xFF:
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        end = pos + 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")
        yield marker, pos + 4, end
        if marker in (SOS, EOI):
            return
        pos = end


def _jpeg_exif_block(data: bytes) -> bytes | None:
    """The TIFF structure inside a JPEG's APP1 "Exif" segment, or None."""
    for marker, start, end in jpeg_segments(data):
        if marker == APP1 and data[start : start + 6] == b"Exif\x00\x00":
            return data[start + 6 : end]
    return None


def exif_tags(data: bytes) -> dict[int, int]:
    """Integer-valued EXIF tags (IFD0 and the Exif sub-IFD) of a JPEG's or TIFF's bytes.

    Only single SHORT or LONG values are read (orientation, focal length in 35 mm film); {} when
    the data has no readable EXIF.
    """
    tiff = data if data[:2] in (b"II", b"MM") else _jpeg_exif_block(data)
    if tiff is None:
        return {}
    try:
        endian = {b"II": "<", b"MM": ">"}[tiff[:2]]
        (ifd,) = struct.unpack(endian + "I", tiff[4:8])
        tags = _ifd_integers(tiff, ifd, endian)
    except (KeyError, struct.error):
        return {}
    try:
        if EXIF_IFD in tags:
            tags.update(_ifd_integers(tiff, tags[EXIF_IFD], endian))
    except struct.error:
        pass  # a broken Exif sub-IFD leaves IFD0's tags (the orientation) usable
    return tags


def _ifd_integers(tiff: bytes, ifd: int, endian: str) -> dict[int, int]:
    (count,) = struct.unpack(endian + "H", tiff[ifd : ifd + 2])
    tags = {}
    for i in range(count):
        entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        tag, kind, n = struct.unpack(endian + "HHI", entry[:8])
        if n == 1 and kind == 3:  # SHORT
            tags[tag] = struct.unpack(endian + "H", entry[8:10])[0]
        elif n == 1 and kind == 4:  # LONG
            tags[tag] = struct.unpack(endian + "I", entry[8:12])[0]
    return tags


def exif_orientation(data: bytes) -> int:
    """EXIF orientation tag (1..8) of a JPEG's or TIFF's bytes; 1 when absent or unreadable."""
    value = exif_tags(data).get(ORIENTATION, 1)
    return value if 1 <= value <= 8 else 1


def jpeg_complete(data: bytes) -> bool:
    """An end-of-image marker follows the first start of scan.

    The segments before the scan are skipped by their lengths, so an EXIF thumbnail's own end
    marker does not count; the entropy-coded data holds no ``FF D9`` but the end.
    """
    for marker, _, end in jpeg_segments(data):
        if marker == SOS:
            return data.find(b"\xff\xd9", end) != -1
    return False


def png_complete(data: bytes) -> bool:
    """The chunks, walked by their lengths, reach an IEND chunk inside the file."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = int.from_bytes(data[pos : pos + 4], "big"), data[pos + 4 : pos + 8]
        if kind == b"IEND":
            return True
        pos += 12 + length  # length, type, data, CRC
    return False


def check_complete(path: Path, data: bytes) -> None:
    """Refuse a JPEG or PNG file cut short; other formats pass.

    Data after the image (the video of a phone's motion photo, padding) is allowed: the JPEG
    needs an end marker after its first scan, the PNG an IEND chunk, wherever the file ends.
    """
    if data[:2] == JPEG_START and not jpeg_complete(data):
        raise ImageError(f"{path}: truncated or damaged image file (JPEG end marker missing)")
    if data[:8] == PNG_SIGNATURE and not png_complete(data):
        raise ImageError(f"{path}: truncated or damaged image file (PNG end chunk missing)")
