"""Blender's decoding path of load_image (used inside Blender, where Pillow is absent)
gives the same pixels as the Pillow path, and the same errors."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from blender_smplify.blender.image_io import load_image_bpy
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
    return [
        SAMPLE,
        tmp_path / "rgb.png",
        tmp_path / "rgba.png",
        tmp_path / "gray.png",
        tmp_path / "rotated.jpg",
    ]


def test_blender_decoder_matches_pillow(tmp_path):
    for path in _files(tmp_path):
        ours, pillow = load_image_bpy(path), image_io.load_image(path)
        assert ours.shape == pillow.shape and ours.dtype == np.uint8, path
        assert np.abs(ours.astype(int) - pillow).max() <= 2, path


def test_load_image_uses_blender_when_pillow_is_missing(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        image_io.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "PIL" else real(name, *a),
    )
    path = _files(tmp_path)[4]
    out = image_io.load_image(path)
    assert out.shape == (44, 30, 3)  # EXIF orientation 6 applied
    with pytest.raises(ImageError, match="not an image"):
        (tmp_path / "text.png").write_text("not a picture")
        image_io.load_image(tmp_path / "text.png")


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
