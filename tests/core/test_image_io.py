"""load_image: every image kind DESIGN.md lists, and a specific ImageError for each bad input."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blender_smplify.core.errors import ImageError, SmplifyError
from blender_smplify.core.image_io import (
    BACKGROUND,
    MAX_PIXELS,
    apply_orientation,
    exif_orientation,
    load_image,
)

SAMPLE = Path(__file__).resolve().parents[2] / "blender_smplify/data/samples/standing_person.jpg"


@pytest.fixture
def rgb() -> np.ndarray:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (24, 40, 3), dtype=np.uint8)


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(
    path: Path, width: int, height: int, bit_depth: int, color_type: int, rows: bytes | None
) -> None:
    """A minimal PNG writer: lets the tests make 16-bit RGB files and fake huge headers."""
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0)
    idat = zlib.compress(rows if rows is not None else b"\x00" * 16)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def test_sample_photo_loads_as_rgb_uint8():
    image = load_image(SAMPLE)
    assert image.shape == (500, 500, 3) and image.dtype == np.uint8
    assert image.flags.c_contiguous
    assert 40 < image.mean() < 220  # a real photo, not a blank buffer


def test_rgb_png_round_trips_exactly(tmp_path, rgb):
    Image.fromarray(rgb).save(tmp_path / "a.png")
    np.testing.assert_array_equal(load_image(tmp_path / "a.png"), rgb)


@pytest.mark.parametrize("mode", ["L", "1"])
def test_grayscale_becomes_three_equal_channels(tmp_path, rgb, mode):
    gray = Image.fromarray(rgb).convert(mode)
    gray.save(tmp_path / "g.png")
    out = load_image(tmp_path / "g.png")
    assert out.shape == (24, 40, 3)
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
    np.testing.assert_array_equal(out[..., 0], np.asarray(gray.convert("L")))


def test_palette_image_uses_its_palette(tmp_path, rgb):
    pal = Image.fromarray(rgb).quantize(colors=16)
    pal.save(tmp_path / "p.png")
    np.testing.assert_array_equal(load_image(tmp_path / "p.png"), np.asarray(pal.convert("RGB")))


def test_palette_transparency_is_composited_on_grey(tmp_path):
    pal = Image.new("P", (16, 16), 0)
    pal.putpalette([255, 0, 0, 0, 0, 255] + [0] * 762)
    pal.paste(1, (0, 0, 8, 16))
    pal.save(tmp_path / "pt.png", transparency=0)
    out = load_image(tmp_path / "pt.png")
    np.testing.assert_array_equal(out[0, 0], [0, 0, 255])
    np.testing.assert_array_equal(out[0, 15], [BACKGROUND] * 3)


def test_rgba_is_composited_on_neutral_grey(tmp_path):
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[..., 0] = 255
    rgba[:, :5, 3] = 255  # left half opaque red, right half fully transparent
    rgba[:, 5:, 3] = 0
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    out = load_image(tmp_path / "a.png")
    np.testing.assert_array_equal(out[0, 0], [255, 0, 0])
    np.testing.assert_array_equal(out[0, 9], [BACKGROUND] * 3)


def test_gray_alpha_is_composited(tmp_path):
    la = np.zeros((8, 8, 2), np.uint8)
    la[..., 0], la[..., 1] = 200, 0
    la[0, 0, 1] = 255
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    out = load_image(tmp_path / "la.png")
    assert tuple(out[0, 0]) == (200, 200, 200) and tuple(out[1, 1]) == (BACKGROUND,) * 3


def test_16_bit_grayscale_is_scaled_not_clipped(tmp_path):
    values = np.array([[0, 257 * 64, 257 * 128, 65535] * 2] * 8, dtype=np.uint16)
    Image.fromarray(values).save(tmp_path / "g16.png")
    out = load_image(tmp_path / "g16.png")
    np.testing.assert_array_equal(out[0, :4, 0], [0, 64, 128, 255])


def test_16_bit_rgb_png(tmp_path):
    rng = np.random.default_rng(1)
    data = rng.integers(0, 65536, (10, 12, 3), dtype=np.uint16)
    rows = b"".join(b"\x00" + data[i].astype(">u2").tobytes() for i in range(10))
    write_png(tmp_path / "rgb16.png", 12, 10, 16, 2, rows)
    out = load_image(tmp_path / "rgb16.png")
    assert out.shape == (10, 12, 3)
    assert np.abs(out.astype(int) - (data >> 8)).max() <= 1


def test_float_tiff_in_unit_range(tmp_path):
    values = np.linspace(0, 1, 64, dtype=np.float32).reshape(8, 8)
    Image.fromarray(values, "F").save(tmp_path / "f.tif")
    out = load_image(tmp_path / "f.tif")
    assert out[0, 0, 0] == 0 and out[-1, -1, 0] == 255


def test_cmyk_jpeg_is_converted(tmp_path):
    Image.new("CMYK", (16, 16), (0, 255, 255, 0)).save(tmp_path / "c.jpg", quality=95)
    out = load_image(tmp_path / "c.jpg")
    assert out.shape == (16, 16, 3)
    r, g, b = out[8, 8].astype(int)
    assert r > 200 and g < 60 and b < 60  # pure red in CMYK


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied(tmp_path, orientation):
    stored = np.zeros((20, 30, 3), np.uint8)
    stored[:10, :15] = (255, 0, 0)
    exif = Image.Exif()
    exif[0x0112] = orientation
    Image.fromarray(stored).save(tmp_path / "o.jpg", exif=exif, quality=95)
    out = load_image(tmp_path / "o.jpg")
    expected = apply_orientation(stored, orientation)
    assert out.shape == expected.shape
    assert np.abs(out.astype(int) - expected).mean() < 6
    assert exif_orientation((tmp_path / "o.jpg").read_bytes()) == orientation


@pytest.mark.parametrize("orientation", range(1, 9))
def test_own_orientation_transform_matches_pillow(rgb, orientation):
    from PIL import ImageOps

    img = Image.fromarray(rgb)
    exif = img.getexif()
    exif[0x0112] = orientation
    img.info["exif"] = exif.tobytes()
    np.testing.assert_array_equal(
        np.asarray(ImageOps.exif_transpose(img)), apply_orientation(rgb, orientation)
    )


def test_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(tmp_path / "a.gif", save_all=True, append_images=frames[1:])
    assert tuple(load_image(tmp_path / "a.gif")[5, 5]) == (255, 0, 0)


# ----------------------------------------------------------------------------- bad input
def _expect_error(path: Path, *words: str) -> ImageError:
    with pytest.raises(ImageError) as info:
        load_image(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word in message
    assert isinstance(info.value, SmplifyError)
    return info.value


def test_missing_file(tmp_path):
    _expect_error(tmp_path / "nope.jpg", "no such file")


def test_directory(tmp_path):
    _expect_error(tmp_path, "not a file")


def test_empty_file(tmp_path):
    (tmp_path / "e.jpg").write_bytes(b"")
    _expect_error(tmp_path / "e.jpg", "empty")


@pytest.mark.parametrize("content", [b"hello, this is text\n" * 20, bytes(range(256)) * 8])
def test_not_an_image(tmp_path, content):
    (tmp_path / "x.jpg").write_bytes(content)
    _expect_error(tmp_path / "x.jpg", "not an image")


@pytest.mark.parametrize("suffix", ["jpg", "png"])
def test_truncated_file(tmp_path, suffix):
    Image.open(SAMPLE).save(tmp_path / f"full.{suffix}")
    data = (tmp_path / f"full.{suffix}").read_bytes()
    (tmp_path / f"cut.{suffix}").write_bytes(data[: len(data) // 2])
    _expect_error(tmp_path / f"cut.{suffix}", "truncated")


@pytest.mark.parametrize("size", [(12000, 9000), (40000, 40000)])
def test_huge_image_is_refused_before_decoding(tmp_path, size):
    # Headers only: the pixels are never allocated (108 Mpx passes Pillow's own bomb check,
    # 1600 Mpx trips it; both must give our error).
    write_png(tmp_path / "huge.png", *size, 8, 2, None)
    assert size[0] * size[1] > MAX_PIXELS
    _expect_error(tmp_path / "huge.png", "too large")


def test_tiny_image_is_refused(tmp_path):
    Image.new("RGB", (4, 4)).save(tmp_path / "t.png")
    _expect_error(tmp_path / "t.png", "too small")
