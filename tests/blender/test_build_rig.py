"""The scene builder through the real bpy module: rig, skinning, shape keys, pose, camera."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import evaluated_joints, make_fit

from blender_smplify.core.axes import CAMERA_TO_BLENDER, SMPL_TO_BLENDER
from blender_smplify.core.joints import SMPL_JOINT_NAMES, SMPL_PARENTS

MM = 1e-3


@pytest.fixture
def built(empty_scene, toy_model):
    from blender_smplify.blender import build_rig

    fit = make_fit(toy_model)
    avatar = build_rig.build(fit, toy_model, name="toy")
    return avatar, fit


def evaluated_vertices(bpy, body) -> np.ndarray:
    """Deformed mesh vertices (V, 3) in world space, through the depsgraph."""
    evaluated = body.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    co = np.empty(len(mesh.vertices) * 3, dtype=np.float32)
    mesh.vertices.foreach_get("co", co)
    evaluated.to_mesh_clear()
    world = np.array(evaluated.matrix_world)
    return co.reshape(-1, 3) @ world[:3, :3].T + world[:3, 3]


def test_bones_have_smpl_names_and_parents(built):
    avatar, _ = built
    bones = avatar.armature.data.bones
    assert sorted(b.name for b in bones) == sorted(SMPL_JOINT_NAMES)
    for k, name in enumerate(SMPL_JOINT_NAMES):
        parent = bones[name].parent
        expected = SMPL_JOINT_NAMES[SMPL_PARENTS[k]] if SMPL_PARENTS[k] >= 0 else None
        assert (parent.name if parent else None) == expected


def test_bones_rest_at_fitted_shape_joints_and_bend_forward(built, toy_model):
    avatar, fit = built
    rest = toy_model.rest_joints(fit.betas) @ SMPL_TO_BLENDER.T
    bones = avatar.armature.data.bones
    heads = np.array([bones[name].head_local for name in SMPL_JOINT_NAMES])
    np.testing.assert_allclose(heads, rest, atol=1e-5)
    # every limb bone's local z points to the body's front (-y) or, along it, up
    knee = bones["left_knee"].matrix_local.to_3x3()
    assert np.dot(np.array(knee.col[2]), (0, -1, 0)) > 0.9
    assert (bones["left_knee"].tail_local - bones["left_ankle"].head_local).length < 1e-5
    # Blender's bone frames are the ones rig_math plans: y along the bone, z to the roll target
    from test_rig_math import frames_from

    from blender_smplify.blender.build_rig import bone_frames

    np.testing.assert_allclose(bone_frames(avatar.armature), frames_from(rest), atol=1e-5)


def vertex_group_weights(body) -> np.ndarray:
    """The body's skinning weights (V, 24) as Blender holds them, read vertex by vertex."""
    assert [g.name for g in body.vertex_groups] == list(SMPL_JOINT_NAMES)
    weights = np.zeros((len(body.data.vertices), 24))
    for vertex in body.data.vertices:
        for element in vertex.groups:
            weights[vertex.index, element.group] = element.weight
    return weights


def test_mesh_is_skinned_with_the_model_weights(built, toy_model):
    avatar, _ = built
    body = avatar.body
    np.testing.assert_allclose(vertex_group_weights(body), toy_model.lbs_weights, atol=1e-6)
    modifiers = [m for m in body.modifiers if m.type == "ARMATURE"]
    assert len(modifiers) == 1 and modifiers[0].object == avatar.armature
    assert modifiers[0].use_vertex_groups and not modifiers[0].use_deform_preserve_volume
    assert all(p.use_smooth for p in body.data.polygons)
    assert len(body.data.polygons) == len(toy_model.faces)


def test_shape_keys_hold_the_betas(built, toy_model):
    avatar, fit = built
    blocks = avatar.body.data.shape_keys.key_blocks
    names = [b.name for b in blocks]
    assert names[0] == "Basis" and names[1 : 1 + len(fit.betas)] == [
        f"beta_{i:02d}" for i in range(len(fit.betas))
    ]
    for i, beta in enumerate(fit.betas):
        block = blocks[f"beta_{i:02d}"]
        assert block.value == pytest.approx(beta, abs=1e-6)
        assert block.slider_min <= -5.0 and block.slider_max >= 5.0
        co = np.empty(len(block.data) * 3, dtype=np.float32)
        block.data.foreach_get("co", co)
        expected = (toy_model.v_template + toy_model.shapedirs[:, :, i]) @ SMPL_TO_BLENDER.T
        np.testing.assert_allclose(co.reshape(-1, 3), expected, atol=1e-5)


def test_posed_bones_land_on_the_fitted_joints(bpy_module, built):
    avatar, fit = built
    expected = fit.joints_3d @ CAMERA_TO_BLENDER.T
    error = np.abs(evaluated_joints(bpy_module, avatar.armature) - expected).max()
    assert error < 1 * MM


def test_evaluated_mesh_equals_the_forward_pass(bpy_module, built, toy_model):
    avatar, fit = built
    vertices, _ = toy_model.forward(fit.betas, fit.pose, fit.transl)
    error = np.abs(evaluated_vertices(bpy_module, avatar.body) - vertices @ CAMERA_TO_BLENDER.T)
    assert error.max() < 1 * MM


@pytest.mark.parametrize(
    ("principal_point", "image_size"),
    [
        ((320.0, 240.0), (640, 480)),
        ((300.0, 260.0), (640, 480)),
        ((280.0, 530.0), (600, 1000)),  # portrait: the sensor width still spans the width
        ((530.0, 280.0), (1000, 600)),
    ],
)
def test_camera_projects_joints_onto_the_fitted_2d_points(
    bpy_module, empty_scene, toy_model, principal_point, image_size
):
    from bpy_extras.object_utils import world_to_camera_view
    from mathutils import Vector

    from blender_smplify.blender import build_rig

    fit = make_fit(toy_model, principal_point=principal_point, image_size=image_size)
    avatar = build_rig.build(fit, toy_model, name="toy")
    joints = evaluated_joints(bpy_module, avatar.armature)
    width, height = fit.image_size
    projected = []
    for point in joints:
        ndc = world_to_camera_view(empty_scene, avatar.camera, Vector(point))
        projected.append((ndc.x * width, (1.0 - ndc.y) * height))  # pixels, y down
    cam = fit.joints_3d
    fitted = fit.focal_length * cam[:, :2] / cam[:, 2:] + fit.principal_point
    assert np.abs(np.array(projected) - fitted).max() < 1.0
    assert empty_scene.render.resolution_x == width and empty_scene.render.resolution_y == height


def test_parameters_are_stored_under_smplx_names(built):
    avatar, fit = built
    armature = avatar.armature
    np.testing.assert_allclose(armature["global_orient"], fit.pose[:3])
    np.testing.assert_allclose(armature["body_pose"], fit.pose[3:])
    np.testing.assert_allclose(armature["betas"], fit.betas)
    np.testing.assert_allclose(armature["transl"], fit.transl)
    assert json.loads(armature["smplify_fit"])["camera"]["focal_length"] == fit.focal_length


def test_rebuilding_the_same_photo_updates_the_avatar(bpy_module, empty_scene, toy_model):
    from blender_smplify.blender import build_rig

    bpy = bpy_module
    first = build_rig.build(make_fit(toy_model, seed=1), toy_model, name="toy")
    names = {o.name for o in bpy.data.objects}
    # the user's hat, parented to the head bone of the rig, must survive the update
    hat = bpy.data.objects.new("hat", None)
    empty_scene.collection.objects.link(hat)
    hat.parent, hat.parent_type, hat.parent_bone = first.armature, "BONE", "head"
    second_fit = make_fit(toy_model, seed=2)
    second = build_rig.build(second_fit, toy_model, name="toy")
    assert second.armature == first.armature and second.body == first.body
    assert {o.name for o in bpy.data.objects} == names | {"hat"}
    assert len([c for c in bpy.data.collections if c.get("smplify_key")]) == 1
    assert hat.parent == second.armature and hat.parent_bone == "head"
    assert len(bpy.data.meshes) == 1 and len(bpy.data.armatures) == 1
    weights = vertex_group_weights(second.body)
    np.testing.assert_allclose(weights, toy_model.lbs_weights, atol=1e-6)
    error = evaluated_joints(bpy, second.armature) - second_fit.joints_3d @ CAMERA_TO_BLENDER.T
    assert np.abs(error).max() < 1 * MM


def test_rebuilding_updates_the_avatar_not_the_users_copy_of_it(
    bpy_module, empty_scene, toy_model
):
    """Shift+D of the rig and body (copies carry our properties, in our collection)."""
    from blender_smplify.blender import build_rig

    bpy = bpy_module
    first = build_rig.build(make_fit(toy_model, seed=1), toy_model, name="toy")
    for obj in (first.armature, first.body):
        obj.select_set(True)
    bpy.context.view_layer.objects.active = first.armature
    bpy.ops.object.duplicate()
    copy = bpy.context.view_layer.objects.active
    copy_pose = [tuple(b.rotation_quaternion) for b in copy.pose.bones]
    second_fit = make_fit(toy_model, seed=2)
    second = build_rig.build(second_fit, toy_model, name="toy")
    assert (second.armature, second.body) == (first.armature, first.body)
    assert second.body.parent == first.armature
    assert [tuple(b.rotation_quaternion) for b in copy.pose.bones] == copy_pose
    error = evaluated_joints(bpy, second.armature) - second_fit.joints_3d @ CAMERA_TO_BLENDER.T
    assert np.abs(error).max() < 1 * MM


def test_user_objects_are_untouched(bpy_module, empty_scene, toy_model):
    from blender_smplify.blender import build_rig

    bpy = bpy_module
    bpy.ops.mesh.primitive_cube_add(location=(1.0, 2.0, 3.0))
    cube = bpy.context.active_object
    user = bpy.data.objects.new("toy_rig", None)  # a user object with the name we would take
    empty_scene.collection.objects.link(user)
    before = {o.name: (o.data, tuple(o.matrix_world.col[3])) for o in (cube, user)}
    avatar = build_rig.build(make_fit(toy_model), toy_model, name="toy")
    assert avatar.armature.name != "toy_rig"
    for obj in (cube, user):
        assert (
            obj.name in before and (obj.data, tuple(obj.matrix_world.col[3])) == before[obj.name]
        )
        assert obj.name in empty_scene.collection.objects
    assert bpy.context.view_layer.objects.active == cube


def test_undo_restores_the_scene(bpy_module, empty_scene, toy_model):
    from blender_smplify.blender import build_rig

    bpy = bpy_module
    bpy.ops.mesh.primitive_cube_add()
    bpy.ops.ed.undo_push(message="before build")
    before = sorted(o.name for o in bpy.data.objects)
    build_rig.build(make_fit(toy_model), toy_model, name="toy")
    bpy.ops.ed.undo_push(message="build")
    assert len(bpy.data.objects) == len(before) + 3
    bpy.ops.ed.undo()
    assert sorted(o.name for o in bpy.data.objects) == before
    assert not [c for c in bpy.data.collections if c.get("smplify_key")]


def test_exif_rotated_photo_becomes_an_upright_background(bpy_module, empty_scene, tmp_path):
    from PIL import Image

    from blender_smplify.blender.camera import load_photo
    from blender_smplify.core.image_io import load_image

    stored = np.zeros((40, 60, 3), dtype=np.uint8)  # 60 wide, 40 high as stored
    stored[:, :30] = (255, 0, 0)  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # display rotated 90 degrees clockwise
    rotated, plain = tmp_path / "rotated.jpg", tmp_path / "plain.jpg"
    Image.fromarray(stored).save(rotated, exif=exif.tobytes(), quality=95)
    Image.fromarray(stored).save(plain, quality=95)
    upright = load_image(rotated)
    assert upright.shape == (60, 40, 3)
    image = load_photo(rotated, upright)
    assert tuple(image.size) == (40, 60) and image.packed_file is not None
    pixels = np.empty(40 * 60 * 4, dtype=np.float32)
    image.pixels.foreach_get(pixels)
    top_row = pixels.reshape(60, 40, 4)[-1, :, :3]  # Blender rows go bottom-up
    np.testing.assert_allclose(top_row * 255, upright[0], atol=2)
    assert load_photo(plain, load_image(plain)).filepath.endswith("plain.jpg")


def _rotated_photo(path, colour):
    """A 60 x 40 JPEG stored sideways: EXIF says turn it 90 degrees (shown 40 wide, 60 high)."""
    from PIL import Image

    stored = np.zeros((40, 60, 3), dtype=np.uint8)
    stored[:, :30] = colour
    exif = Image.Exif()
    exif[0x0112] = 6
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(stored).save(path, exif=exif.tobytes(), quality=95)
    return path


def test_rotated_photo_is_upright_without_given_pixels(bpy_module, empty_scene, tmp_path):
    """The panel's Build and Photo to avatar pass no pixels: the background is upright anyway."""
    from blender_smplify.blender.camera import load_photo

    image = load_photo(_rotated_photo(tmp_path / "phone.jpg", (255, 0, 0)))
    assert tuple(image.size) == (40, 60)


def test_rotated_photos_of_the_same_name_keep_their_own_backgrounds(
    bpy_module, empty_scene, tmp_path
):
    from blender_smplify.blender.camera import load_photo
    from blender_smplify.core.image_io import load_image

    red = _rotated_photo(tmp_path / "a" / "IMG_0001.jpg", (255, 0, 0))
    blue = _rotated_photo(tmp_path / "b" / "IMG_0001.jpg", (0, 0, 255))
    first = load_photo(red, load_image(red))
    second = load_photo(blue, load_image(blue))
    assert first != second
    pixels = np.empty(40 * 60 * 4, dtype=np.float32)
    first.pixels.foreach_get(pixels)
    assert pixels.reshape(-1, 4)[:, 0].max() > 0.9  # still the red photo
    assert load_photo(red, load_image(red)) == first  # and found again


@pytest.mark.parametrize("rotated", [True, False])
def test_build_from_a_blender_image_of_a_photo_file(bpy_module, empty_scene, tmp_path, rotated):
    """The panel's "Blender image" source, a phone photo on disk: background as the fit saw it."""
    from dataclasses import replace

    from PIL import Image

    from blender_smplify.blender.pipeline import load_model

    bpy = bpy_module
    path = tmp_path / "phone.jpg"
    if rotated:
        _rotated_photo(path, (255, 0, 0))
    else:
        Image.fromarray(np.zeros((60, 40, 3), dtype=np.uint8)).save(path)
    image = bpy.data.images.load(str(path))
    settings = empty_scene.smplify
    settings.image_source, settings.image = "IMAGE", image
    fit = replace(
        make_fit(load_model()), image_size=(40, 60), principal_point=np.array([20.0, 30.0])
    )
    settings.fit_json, settings.fit_key = json.dumps(fit.to_dict()), str(path.resolve())
    assert bpy.ops.smplify.build() == {"FINISHED"}
    camera = next(o for o in bpy.data.objects if o.get("smplify_role") == "camera")
    background = camera.data.background_images[0].image
    assert tuple(background.size) == (40, 60)
    assert (background == image) != rotated  # the user's image itself when it is upright


def test_rebuilding_a_hidden_rig_keeps_it_hidden(bpy_module, empty_scene, toy_model):
    from blender_smplify.blender import build_rig

    first = build_rig.build(make_fit(toy_model, seed=1), toy_model, name="toy")
    first.armature.hide_set(True)
    first.body.hide_viewport = True
    second_fit = make_fit(toy_model, seed=3)
    second = build_rig.build(second_fit, toy_model, name="toy")
    assert second.armature.hide_get() and second.body.hide_viewport
    heads = evaluated_joints(bpy_module, second.armature)
    assert np.abs(heads - second_fit.joints_3d @ CAMERA_TO_BLENDER.T).max() < 1 * MM


def test_renders_leave_the_scene_as_it_was(bpy_module, built, tmp_path):
    from blender_smplify.blender.render import render_orbit, render_preview

    bpy = bpy_module
    avatar, fit = built
    scene = bpy.context.scene
    scene.render.engine = "CYCLES"
    before = (sorted(o.name for o in bpy.data.objects), scene.camera, scene.render.engine)
    overlay = render_preview(avatar, tmp_path / "overlay.png")
    orbit = render_orbit(avatar, tmp_path / "orbit.png", size=(120, 160))
    assert (sorted(o.name for o in bpy.data.objects), scene.camera, scene.render.engine) == before
    images = [bpy.data.images.load(str(p)) for p in (overlay, orbit)]
    assert tuple(images[0].size) == fit.image_size and tuple(images[1].size) == (120, 160)
    pixels = np.empty(120 * 160 * 4, dtype=np.float32)
    images[1].pixels.foreach_get(pixels)
    assert np.ptp(pixels.reshape(-1, 4)[:, :3], axis=0).max() > 0.1  # something was drawn
