"""The byte-level checks every decoder shares: one JPEG segment walker serves the EXIF reader and
the truncation check; PNG chunks are walked by their lengths."""

from __future__ import annotations

import io
import struct
from pathlib import Path

import pytest
from PIL import Image

from blender_smplify.core.errors import ImageError
from blender_smplify.core.image_bytes import (
    APP1,
    SOS,
    check_complete,
    exif_orientation,
    exif_tags,
    jpeg_segments,
)

SAMPLE = Path(__file__).resolve().parents[2] / "blender_smplify/data/samples/standing_person.jpg"


def _jpeg(orientation: int | None = None, size=(40, 30)) -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    if orientation is not None:
        exif[0x0112] = orientation
    Image.new("RGB", size, (200, 30, 30)).save(buffer, "JPEG", exif=exif, quality=90)
    return buffer.getvalue()


def _with_segment(jpeg: bytes, marker: int, payload: bytes) -> bytes:
    """``jpeg`` with one more segment right after its start-of-image marker."""
    segment = bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload
    return jpeg[:2] + segment + jpeg[2:]


def test_segments_run_in_file_order_up_to_the_scan():
    data = _jpeg(orientation=6)
    markers = [marker for marker, _, _ in jpeg_segments(data)]
    assert markers[-1] == SOS and APP1 in markers and markers.count(SOS) == 1
    for marker, start, end in jpeg_segments(data):
        assert data[start - 4] == 0xFF and data[start - 3] == marker
        assert end - start == int.from_bytes(data[start - 2 : start], "big") - 2


def test_fill_bytes_and_standalone_markers_are_stepped_over():
    data = _jpeg(orientation=3)
    padded = data[:2] + b"\xff\xff\xff\x01" + data[2:]  # fill bytes, then a TEM marker
    assert [m for m, _, _ in jpeg_segments(padded)] == [m for m, _, _ in jpeg_segments(data)]
    assert exif_orientation(padded) == 3


def test_exif_is_found_behind_other_segments():
    data = _with_segment(_jpeg(orientation=8), 0xE0, b"JFIF\x00" + bytes(20))
    assert exif_orientation(data) == 8
    assert exif_tags(b"not a jpeg") == {} and exif_orientation(b"\xff\xd8") == 1


def test_whole_files_pass_and_cut_ones_are_refused(tmp_path):
    for data in (SAMPLE.read_bytes(), _jpeg(orientation=6)):
        check_complete(tmp_path / "a.jpg", data)
        with pytest.raises(ImageError, match="a.jpg: truncated .*JPEG end marker"):
            check_complete(tmp_path / "a.jpg", data[: len(data) // 2])
    png = io.BytesIO()
    Image.new("RGB", (20, 20), "red").save(png, "PNG")
    check_complete(tmp_path / "a.png", png.getvalue())
    with pytest.raises(ImageError, match="a.png: truncated .*PNG end chunk"):
        check_complete(tmp_path / "a.png", png.getvalue()[:-20])
    check_complete(tmp_path / "a.bmp", b"BM" + bytes(100))  # other formats: the decoder's job


def test_an_end_marker_inside_a_segment_does_not_count(tmp_path):
    """An EXIF thumbnail carries its own FF D9: only one after the scan ends the image."""
    data = _with_segment(_jpeg(), APP1, b"Exif\x00\x00" + b"\xff\xd8thumbnail\xff\xd9")
    check_complete(tmp_path / "t.jpg", data)
    scan = next(end for marker, _, end in jpeg_segments(data) if marker == SOS)
    with pytest.raises(ImageError, match="truncated"):
        check_complete(tmp_path / "t.jpg", data[: scan + 10])


def test_data_after_the_image_is_allowed(tmp_path):
    """Phone "motion photos" carry a video after the JPEG."""
    check_complete(tmp_path / "m.jpg", _jpeg() + b"\x00\x00\x00\x18ftypmp42" + bytes(1000))
