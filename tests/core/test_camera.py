"""Pinhole projection, its Jacobian, and focal lengths from a field of view or EXIF."""

from __future__ import annotations

import math

import numpy as np
import pytest

from blender_smplify.core.camera import (
    DEFAULT_FOV_DEG,
    focal_from_35mm,
    focal_from_exif,
    focal_from_fov,
    project,
    project_with_jacobian,
)


def test_projection_and_jacobian():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(10, 3)) + [0.0, 0.0, 4.0]
    centre = np.array([320.0, 240.0])
    uv, jac = project_with_jacobian(pts, 800.0, centre)
    np.testing.assert_allclose(uv, project(pts, 800.0, centre))
    np.testing.assert_allclose(uv[:, 0], 800.0 * pts[:, 0] / pts[:, 2] + 320.0)
    h = 1e-6
    for a in range(3):
        d = np.zeros(3)
        d[a] = h
        fd = (project(pts + d, 800.0, centre) - project(pts - d, 800.0, centre)) / (2 * h)
        np.testing.assert_allclose(jac[:, :, a], fd, rtol=1e-6, atol=1e-6)


def test_points_behind_the_camera_stay_finite():
    uv, jac = project_with_jacobian(np.array([[0.1, 0.2, -1.0]]), 500.0, np.zeros(2))
    assert np.all(np.isfinite(uv)) and np.all(np.isfinite(jac))


def test_focal_from_fov_and_35mm():
    assert focal_from_fov((300, 400), 90.0) == pytest.approx(250.0)  # diagonal 500 px
    # a 43.27 mm "normal" lens on the 35 mm diagonal gives f = image diagonal
    assert focal_from_35mm(math.hypot(36, 24), (300, 400)) == pytest.approx(500.0)
    f = focal_from_fov((3000, 4000))
    fov = 2 * math.degrees(math.atan(2500 / f))
    assert fov == pytest.approx(DEFAULT_FOV_DEG)


def test_focal_from_exif(tmp_path):
    from PIL import Image

    img = Image.new("RGB", (400, 300), "gray")
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0xA405] = 26  # FocalLengthIn35mmFilm
    with_exif = tmp_path / "phone.jpg"
    img.save(with_exif, exif=exif)
    assert focal_from_exif(with_exif, (400, 300)) == pytest.approx(26 * 500 / math.hypot(36, 24))
    plain = tmp_path / "plain.png"
    img.save(plain)
    assert focal_from_exif(plain, (400, 300)) is None
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    assert focal_from_exif(junk, (400, 300)) is None
    bomb = tmp_path / "bomb.bmp"  # a BMP header claiming 20000 x 20000 pixels
    img.save(bomb)
    header = bytearray(bomb.read_bytes())
    header[18:26] = (20000).to_bytes(4, "little") * 2
    bomb.write_bytes(bytes(header))
    assert focal_from_exif(bomb, (400, 300)) is None


def test_focal_from_exif_needs_no_pillow(tmp_path):
    """Blender has no Pillow: the EXIF focal length must be read without it."""
    import subprocess
    import sys

    from PIL import Image

    img = Image.new("RGB", (400, 300), "gray")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation beside the focal length
    exif.get_ifd(0x8769)[0xA405] = 52
    img.save(tmp_path / "phone.jpg", exif=exif)
    code = (
        "import sys; sys.modules['PIL'] = None\n"
        "from blender_smplify.core.camera import focal_from_exif\n"
        "from blender_smplify.core.image_io import exif_orientation\n"
        f"data = open({str(tmp_path / 'phone.jpg')!r}, 'rb').read()\n"
        f"print(focal_from_exif({str(tmp_path / 'phone.jpg')!r}, (300, 400)), "
        "exif_orientation(data))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    focal, orientation = out.stdout.split()
    assert float(focal) == pytest.approx(52 * 500 / math.hypot(36, 24))
    assert orientation == "6"
