"""Pixels in and out of Blender: Blender's decoder (used inside Blender, where Pillow is absent)
gives the same pixels and errors as the Pillow path, and image_pixels' one policy (sRGB for
float buffers, straight alpha on grey) holds for every image kind."""

from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blender_smplify.blender import image_io as bpy_image_io
from blender_smplify.blender.image_io import image_pixels, load_image_bpy, photo_pixels
from blender_smplify.core import image_io
from blender_smplify.core.errors import ImageError

SAMPLE = Path(__file__).resolve().parents[2] / "blender_smplify/data/samples/standing_person.jpg"


def _files(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (30, 44, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (30, 44), dtype=np.uint8)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(np.dstack([rgb, alpha]), "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(rgb).convert("L").save(tmp_path / "gray.png")
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(rgb).save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    # 16-bit RGBA: Blender holds it as a float buffer (linear, premultiplied), Pillow as 8-bit
    rgba16 = (np.dstack([rgb, alpha]).astype(np.uint16) * 257).astype(">u2")
    rows = b"".join(b"\x00" + row.tobytes() for row in rgba16)
    header = struct.pack(">IIBBBBB", 44, 30, 16, 6, 0, 0, 0)
    (tmp_path / "rgba16.png").write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows))
        + _chunk(b"IEND", b"")
    )
    return [
        SAMPLE,
        tmp_path / "rgb.png",
        tmp_path / "rgba.png",
        tmp_path / "gray.png",
        tmp_path / "rotated.jpg",
        tmp_path / "rgba16.png",
    ]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def test_blender_decoder_matches_pillow(tmp_path):
    for path in _files(tmp_path):
        ours, pillow = load_image_bpy(path), image_io.load_image(path)
        assert ours.shape == pillow.shape and ours.dtype == np.uint8, path
        assert np.abs(ours.astype(int) - pillow).max() <= 2, path


def test_load_image_uses_blender_when_pillow_is_missing(tmp_path, monkeypatch):
    path = _files(tmp_path)[4]
    monkeypatch.setitem(sys.modules, "PIL", None)  # as inside Blender
    monkeypatch.setattr(bpy_image_io.importlib.util, "find_spec", lambda name, *a: None)
    assert bpy_image_io.image_decoder() is bpy_image_io.decode_with_blender
    out = bpy_image_io.load_image(path)
    assert out.shape == (44, 30, 3)  # EXIF orientation 6 applied
    with pytest.raises(ImageError, match="not an image"):
        (tmp_path / "text.png").write_text("not a picture")
        bpy_image_io.load_image(tmp_path / "text.png")
    with pytest.raises(ImageError, match="Pillow is not installed"):  # the core alone cannot
        image_io.load_image(path)


def _float_image(name: str, rgba: np.ndarray):
    """A float-buffer Blender image holding ``rgba`` (H, W, 4), top row first, as given."""
    import bpy

    height, width = rgba.shape[:2]
    image = bpy.data.images.new(name, width, height, alpha=True, float_buffer=True)
    image.pixels.foreach_set(np.ascontiguousarray(rgba[::-1], np.float32).ravel())
    return image


def test_float_images_are_read_back_as_srgb(bpy_module):
    """Known linear values give the sRGB bytes of IEC 61966-2-1 (18 % grey is 118)."""
    linear = np.array([0.0, 0.002, 0.0031308, 0.05, 0.18, 0.6, 1.0, 2.0])
    expected = [0, 7, 10, 63, 118, 203, 255, 255]
    rgba = np.ones((8, 8, 4))
    rgba[..., :3] = linear[None, :, None]
    image = _float_image("linear ramp", rgba)
    try:
        assert image.is_float
        pixels = image_pixels(image)
        assert pixels.shape == (8, 8, 4) and pixels.dtype == np.float32
        np.testing.assert_array_equal(photo_pixels(image)[3, :, 1], expected)
        np.testing.assert_array_equal(np.rint(pixels[3, :, 0] * 255), expected)
    finally:
        bpy_module.data.images.remove(image)


def test_one_alpha_policy_for_float_and_byte_images(bpy_module):
    """Half-transparent 18 % grey: Blender's float buffer holds it premultiplied, a byte buffer
    straight; both read back as the same straight colour, and land on the same grey."""
    bpy = bpy_module
    rgba = np.zeros((8, 8, 4))
    rgba[..., :3], rgba[..., 3] = 0.18 * 0.5, 0.5  # linear, premultiplied
    rgba[0, 0] = (0.18, 0.18, 0.18, 0.0)  # fully transparent: colour ignored
    floats = _float_image("half float", rgba)
    straight = np.zeros((8, 8, 4))
    straight[..., :3], straight[..., 3] = 118 / 255, 0.5
    straight[0, 0, 3] = 0.0  # top left, as in the float image
    byte = bpy.data.images.new("half byte", 8, 8, alpha=True)
    byte.pixels.foreach_set(np.ascontiguousarray(straight[::-1], np.float32).ravel())
    try:
        for image in (floats, byte):
            pixels = image_pixels(image)
            assert abs(pixels[4, 4, 0] * 255 - 118) < 1 and abs(pixels[4, 4, 3] - 0.5) < 0.01
            photo = photo_pixels(image)
            assert abs(int(photo[4, 4, 0]) - (118 + image_io.BACKGROUND) // 2) <= 1, image.name
            assert tuple(photo[0, 0]) == (image_io.BACKGROUND,) * 3, image.name
    finally:
        bpy.data.images.remove(floats)
        bpy.data.images.remove(byte)


def test_a_tiny_or_huge_blender_image_is_refused_like_a_file(bpy_module, monkeypatch):
    bpy = bpy_module
    tiny = bpy.data.images.new("tiny", 4, 4)
    try:
        with pytest.raises(ImageError, match="image 'tiny': image too small"):
            photo_pixels(tiny)
        monkeypatch.setattr(image_io, "MAX_PIXELS", 10)
        with pytest.raises(ImageError, match="image 'tiny': image too large"):
            photo_pixels(tiny)
    finally:
        bpy.data.images.remove(tiny)


@pytest.mark.parametrize("suffix", ["jpg", "png"])
def test_blender_decoder_refuses_truncated_files(tmp_path, suffix):
    Image.open(SAMPLE).save(tmp_path / f"full.{suffix}")
    data = (tmp_path / f"full.{suffix}").read_bytes()
    (tmp_path / f"cut.{suffix}").write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageError, match="truncated"):
        load_image_bpy(tmp_path / f"cut.{suffix}")


def test_blender_decoder_reads_photos_with_data_after_the_image(tmp_path):
    """Phone "motion photos" carry a video after the JPEG; some tools pad PNGs: still images."""
    rng = np.random.default_rng(1)
    for suffix in ("jpg", "png"):
        Image.open(SAMPLE).save(tmp_path / f"plain.{suffix}")
        data = (tmp_path / f"plain.{suffix}").read_bytes()
        extra = b"\x00\x00\x00\x18ftypmp42" + rng.integers(0, 256, 20000, np.uint8).tobytes()
        (tmp_path / f"motion.{suffix}").write_bytes(data + extra)
        ours = load_image_bpy(tmp_path / f"motion.{suffix}")
        assert (
            np.abs(ours.astype(int) - image_io.load_image(tmp_path / f"plain.{suffix}")).max() <= 2
        )
