"""Draw a fit over its photo and from the side, to look at what the fit made.

    .venv/bin/python -m blender_smplify fit PHOTO --out fit.json
    .venv/bin/python benchmarks/render_fit.py PHOTO fit.json out.png

Left: the photo with the posed mesh's vertices (blue dots), the keypoints that were fitted (red
circles) and where the fitted body puts them (green, joined by yellow lines). Right: the body
seen from the camera's right (the camera is on the left, looking right), joints in red.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from blender_smplify.core.body_model import BodyModel
from blender_smplify.core.fit_setup import get_setup


def render(photo: str, fit_json: str, out: str, model_path: str | None = None) -> None:
    from PIL import Image, ImageDraw

    from blender_smplify.core.image_io import load_image

    data = json.loads(Path(fit_json).read_text())
    model = BodyModel.load(model_path, gender=data.get("gender", "neutral"))
    pose = np.array(data["global_orient"] + data["body_pose"])
    betas, transl = np.array(data["betas"]), np.array(data["transl"])
    vertices, joints = model.forward(betas, pose, transl)
    cam = data["camera"]
    f, c = cam["focal_length"], np.array(cam["principal_point"])

    photo_img = Image.fromarray(load_image(photo))
    draw = ImageDraw.Draw(photo_img)
    uv = f * vertices[:, :2] / vertices[:, 2:] + c
    for u, v in uv[::3]:
        draw.point((u, v), fill=(80, 160, 255))
    kp = data["keypoints"]
    setup = get_setup(model, kp["layout"], len(betas))
    pts, _ = setup.kin.evaluate(pose, betas, transl, jacobian=False)
    fitted = pts[setup.point_index]
    fitted_uv = f * fitted[:, :2] / fitted[:, 2:] + c
    for (x, y), (u, v), conf in zip(kp["xy"], fitted_uv, kp["confidence"]):
        if conf <= 0:
            continue
        draw.line([(x, y), (u, v)], fill=(255, 255, 0))
        draw.ellipse([x - 3, y - 3, x + 3, y + 3], outline=(255, 0, 0))
        draw.ellipse([u - 2, v - 2, u + 2, v + 2], fill=(0, 255, 0))

    h = photo_img.height
    side = Image.new("RGB", (h, h), "white")
    sd = ImageDraw.Draw(side)
    centre = vertices.mean(axis=0)
    span = max(np.ptp(vertices[:, 1]), np.ptp(vertices[:, 2])) * 1.15
    scale = h / span

    def to_side(p):  # camera z to the right, camera y down
        return ((p[2] - centre[2]) * scale + h / 2, (p[1] - centre[1]) * scale + h / 2)

    for p in vertices[::3]:
        sd.point(to_side(p), fill=(60, 110, 200))
    for p in joints:
        x, y = to_side(p)
        sd.ellipse([x - 3, y - 3, x + 3, y + 3], fill=(220, 30, 30))
    sd.text((8, 6), "side view (camera on the left)", fill="black")
    canvas = Image.new("RGB", (photo_img.width + h, h), "white")
    canvas.paste(photo_img, (0, 0))
    canvas.paste(side, (photo_img.width, 0))
    canvas.save(out)


if __name__ == "__main__":
    if len(sys.argv) not in (4, 5):
        sys.exit(__doc__)
    render(*sys.argv[1:])
