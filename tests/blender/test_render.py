"""Preview renders leave the user's scene exactly as it was: every render setting, the active
camera, what renders, and no object, camera or image left behind, also when a render fails."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_fit

USER_SETTINGS = {
    ("render", "engine"): "CYCLES",
    ("render", "resolution_x"): 321,
    ("render", "resolution_y"): 123,
    ("render", "resolution_percentage"): 50,
    ("render", "pixel_aspect_x"): 2.0,
    ("render", "film_transparent"): False,
    ("render", "filepath"): "//user_render",
    ("image_settings", "file_format"): "JPEG",
    ("image_settings", "color_mode"): "BW",
    ("shading", "light"): "FLAT",
    ("shading", "color_type"): "OBJECT",
    ("shading", "single_color"): (0.25, 0.5, 0.75),
}


def _owners(scene) -> dict:
    return {
        "render": scene.render,
        "image_settings": scene.render.image_settings,
        "shading": scene.display.shading,
    }


def snapshot(bpy, scene) -> dict:
    """Everything of the scene a render could change, as plain values."""
    owners = _owners(scene)
    settings = {
        f"{owner}.{name}": tuple(np.round(getattr(owners[owner], name), 6))
        if owner == "shading" and name == "single_color"
        else getattr(owners[owner], name)
        for owner, name in USER_SETTINGS
    }
    settings["pixel_aspect_y"] = scene.render.pixel_aspect_y
    return {
        **settings,
        "camera": scene.camera.name if scene.camera else None,
        "objects": sorted((o.name, o.hide_render) for o in bpy.data.objects),
        "cameras": sorted(c.name for c in bpy.data.cameras),
        "images": sorted(i.name for i in bpy.data.images if i.type != "RENDER_RESULT"),
    }


@pytest.fixture
def user_scene(bpy_module, empty_scene, toy_model):
    """An avatar in a scene whose user set up a cube, a camera and render settings of their own."""
    from blender_smplify.blender import build_rig

    bpy = bpy_module
    avatar = build_rig.build(make_fit(toy_model), toy_model, name="toy")
    scene = empty_scene
    bpy.ops.mesh.primitive_cube_add(location=(0.0, 3.0, 0.0))
    bpy.ops.curve.primitive_bezier_curve_add()
    data = bpy.data.cameras.new("user camera")
    camera = bpy.data.objects.new("user camera", data)
    scene.collection.objects.link(camera)
    scene.camera = camera
    owners = _owners(scene)
    for (owner, name), value in USER_SETTINGS.items():
        setattr(owners[owner], name, value)
    return avatar, scene


def test_renders_leave_the_users_scene_as_it_was(bpy_module, user_scene, tmp_path):
    from blender_smplify.blender.render import render_orbit, render_preview

    bpy = bpy_module
    avatar, scene = user_scene
    before = snapshot(bpy, scene)
    overlay = render_preview(avatar, tmp_path / "overlay.png", max_size=320)
    assert snapshot(bpy, scene) == before
    orbit = render_orbit(avatar, tmp_path / "orbit.png", size=(60, 80))
    assert snapshot(bpy, scene) == before
    sizes = []
    for path in (overlay, orbit):
        image = bpy.data.images.load(str(path))
        sizes.append(tuple(image.size))
        bpy.data.images.remove(image)
    assert sizes == [(320, 240), (60, 80)]  # the 640 x 480 photo's camera, scaled; the orbit's


def test_a_failed_render_leaves_the_scene_as_it_was(bpy_module, user_scene, tmp_path, monkeypatch):
    from blender_smplify.blender import render

    bpy = bpy_module
    avatar, scene = user_scene
    before = snapshot(bpy, scene)

    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(render, "_composite", fail)  # after the body was rendered
    with pytest.raises(RuntimeError, match="disk full"):
        render.render_preview(avatar, tmp_path / "overlay.png", max_size=320)
    assert snapshot(bpy, scene) == before
    monkeypatch.setattr(render, "_frame_body", fail)  # with the temporary camera made
    with pytest.raises(RuntimeError, match="disk full"):
        render.render_orbit(avatar, tmp_path / "orbit.png", size=(60, 80))
    assert snapshot(bpy, scene) == before
