"""Photo-like renders of SMPL-format bodies with Blender's ``bpy`` module (Cycles on the CPU).

    renderer = Renderer()
    seconds = renderer.render("out.png", model, betas, pose, transl, camera, look)
    # or: the body on the floor, seen as a Shot describes (yaw 0: from the front, π/2: from
    # its left), in a random look; returns the exact truth (render_scene.truth)
    info = renderer.photo("front.png", model, betas, pose, Shot(0.0, 1.4, 50.0, 0.8, False,
                          (0.0, 0.0), 0.0), rng=np.random.default_rng(0))

One scene is built once and reused: a mesh per body topology (vertex positions replaced per
photo), a skin material (Principled BSDF with subsurface scattering) mixed per vertex with
clothing colours (shirt, trousers, shoes, hair regions chosen from the skinning weights), a
floor plane with a procedural texture and the body's shadow, an optional wall behind the body,
a gradient sky and a sun. Low samples with OpenImageDenoise give a few seconds per photo.
Coordinates come in SMPL world axes (y up) and are turned to Blender's (z up) here only.
"""

from __future__ import annotations

import bpy
import numpy as np
from mathutils import Matrix
from render_scene import Camera, Look, Shot

from blender_smplify.core.axes import SMPL_TO_BLENDER
from blender_smplify.core.joints import J

#: Dominant-joint regions of the clothes.
TORSO = ("spine1", "spine2", "spine3", "left_collar", "right_collar", "neck")
UPPER_ARMS, FOREARMS = ("left_shoulder", "right_shoulder"), ("left_elbow", "right_elbow")
HIPS, SHINS = ("pelvis", "left_hip", "right_hip"), ("left_knee", "right_knee")
FEET = ("left_ankle", "right_ankle", "left_foot", "right_foot")


def _linear(c) -> tuple[float, float, float, float]:
    """sRGB (3,) to linear RGBA for Blender colour sockets."""
    c = np.asarray(c, dtype=float)
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return (*lin.tolist(), 1.0)


class Renderer:
    """A reusable Cycles scene for rendering one body per photo.

    Parameters
    ----------
    samples : Cycles samples per pixel (denoised with OpenImageDenoise).
    threads : CPU threads for Cycles.
    """

    def __init__(self, samples: int = 4, threads: int = 2) -> None:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        self.scene = bpy.context.scene
        self._setup_render(samples, threads)
        self._meshes: dict[int, bpy.types.Object] = {}
        self._regions: dict[int, np.ndarray] = {}
        self.skin = self._body_material()
        self.floor = self._plane("floor", 40.0)
        self.wall = self._plane("wall", 30.0)
        self.props: list[bpy.types.Object] = []
        self.sun = bpy.data.objects.new("sun", bpy.data.lights.new("sun", "SUN"))
        self.scene.collection.objects.link(self.sun)
        self.camera = bpy.data.objects.new("camera", bpy.data.cameras.new("camera"))
        self.scene.collection.objects.link(self.camera)
        self.scene.camera = self.camera
        self._world()

    # ------------------------------------------------------------------ set-up
    def _setup_render(self, samples: int, threads: int) -> None:
        r, c = self.scene.render, self.scene.cycles
        r.engine = "CYCLES"
        c.device = "CPU"
        c.samples = samples
        c.use_adaptive_sampling = True
        c.use_denoising = True
        c.denoiser = "OPENIMAGEDENOISE"
        c.denoising_prefilter = "FAST"
        c.denoising_quality = "FAST"
        c.max_bounces, c.diffuse_bounces, c.glossy_bounces = 3, 2, 1
        c.transmission_bounces, c.transparent_max_bounces = 0, 0
        r.threads_mode, r.threads = "FIXED", threads
        r.resolution_percentage = 100
        r.image_settings.file_format = "PNG"
        r.image_settings.color_mode = "RGB"
        self.scene.view_settings.view_transform = "AgX"
        self.scene.view_settings.look = "AgX - Medium High Contrast"

    def _body_material(self) -> bpy.types.Material:
        """Skin (Principled BSDF + subsurface) mixed with the per-vertex clothes colour."""
        mat = bpy.data.materials.new("body")
        mat.use_nodes = True
        nodes, links = mat.node_tree.nodes, mat.node_tree.links
        nodes.clear()
        out = nodes.new("ShaderNodeOutputMaterial")
        skin = nodes.new("ShaderNodeBsdfPrincipled")
        skin.name = "skin"
        skin.subsurface_method = "BURLEY"
        skin.inputs["Subsurface Radius"].default_value = (1.0, 0.35, 0.2)
        skin.inputs["Subsurface Scale"].default_value = 0.01
        cloth = nodes.new("ShaderNodeBsdfPrincipled")
        cloth.inputs["Roughness"].default_value = 0.85
        cloth.inputs["Sheen Weight"].default_value = 0.3
        attr = nodes.new("ShaderNodeAttribute")
        attr.attribute_name = "clothes"
        mix = nodes.new("ShaderNodeMixShader")
        links.new(attr.outputs["Color"], cloth.inputs["Base Color"])
        links.new(attr.outputs["Alpha"], mix.inputs["Fac"])
        links.new(skin.outputs["BSDF"], mix.inputs[1])
        links.new(cloth.outputs["BSDF"], mix.inputs[2])
        links.new(mix.outputs["Shader"], out.inputs["Surface"])
        return mat

    def _plain_material(self, name: str) -> bpy.types.Material:
        mat = bpy.data.materials.new(name)
        mat.use_nodes = True
        return mat

    def _plane(self, name: str, size: float) -> bpy.types.Object:
        """A square plane with a material whose pattern nodes are rebuilt per photo."""
        mesh = bpy.data.meshes.new(name)
        h = size / 2
        mesh.from_pydata([(-h, -h, 0), (h, -h, 0), (h, h, 0), (-h, h, 0)], [], [(0, 1, 2, 3)])
        obj = bpy.data.objects.new(name, mesh)
        obj.data.materials.append(self._plain_material(name))
        self.scene.collection.objects.link(obj)
        return obj

    def _world(self) -> None:
        world = bpy.data.worlds.new("world")
        self.scene.world = world
        world.use_nodes = True
        world.cycles.sampling_method = "NONE"  # its importance map cost 2.4 s per photo
        nodes, links = world.node_tree.nodes, world.node_tree.links
        nodes.clear()
        coords = nodes.new("ShaderNodeTexCoord")
        sep = nodes.new("ShaderNodeSeparateXYZ")
        ramp = nodes.new("ShaderNodeValToRGB")
        ramp.name = "sky"
        bg = nodes.new("ShaderNodeBackground")
        bg.name = "background"
        out = nodes.new("ShaderNodeOutputWorld")
        links.new(coords.outputs["Generated"], sep.inputs["Vector"])
        links.new(sep.outputs["Z"], ramp.inputs["Fac"])
        links.new(ramp.outputs["Color"], bg.inputs["Color"])
        links.new(bg.outputs["Background"], out.inputs["Surface"])

    # ------------------------------------------------------------------ per photo
    def _body_object(self, model) -> bpy.types.Object:
        """The mesh object for the model's topology (created on first use)."""
        key = id(model)
        if key not in self._meshes:
            faces = model.quads if model.quads is not None else model.faces
            mesh = bpy.data.meshes.new(f"body_{len(self._meshes)}")
            mesh.vertices.add(model.num_vertices)
            mesh.loops.add(faces.size)
            mesh.polygons.add(len(faces))
            mesh.loops.foreach_set("vertex_index", faces.ravel().astype(np.int32))
            k = faces.shape[1]
            mesh.polygons.foreach_set("loop_start", np.arange(0, faces.size, k, dtype=np.int32))
            mesh.polygons.foreach_set("loop_total", np.full(len(faces), k, dtype=np.int32))
            mesh.polygons.foreach_set("use_smooth", np.ones(len(faces), dtype=bool))
            mesh.vertices.foreach_set("co", model.v_template.astype(np.float32).ravel())
            mesh.update()
            mesh.validate()
            mesh.color_attributes.new("clothes", "FLOAT_COLOR", "POINT")
            mesh.materials.append(self.skin)
            obj = bpy.data.objects.new(mesh.name, mesh)
            self.scene.collection.objects.link(obj)
            self._meshes[key] = obj
            self._regions[key] = self._dominant_joints(model)
        return self._meshes[key]

    @staticmethod
    def _dominant_joints(model) -> np.ndarray:
        """Per vertex the joint with the largest skinning weight; the head's top and back
        (hair) as −1."""
        dominant = model.lbs_weights.argmax(axis=1)
        rest = model.J_template
        head = rest[J["head"]]
        v = model.v_template
        hair = (dominant == J["head"]) & (
            (v[:, 1] > head[1] + 0.07) | ((v[:, 1] > head[1] - 0.04) & (v[:, 2] < head[2] - 0.03))
        )
        dominant = dominant.copy()
        dominant[hair] = -1
        return dominant

    def _clothes(self, dominant: np.ndarray, look: Look) -> np.ndarray:
        """Per-vertex linear RGBA: clothes colour, alpha 1 where clothed, 0 on skin."""
        colours = np.zeros((len(dominant), 4))

        def paint(joints, colour) -> None:
            mask = np.isin(dominant, [J[j] for j in joints])
            colours[mask] = _linear(colour)

        bottom = HIPS + (SHINS if look.long_trousers else ())
        paint(bottom, look.trousers)
        sleeves = {"none": (), "short": UPPER_ARMS, "long": UPPER_ARMS + FOREARMS}
        paint(TORSO[:-1] + sleeves[look.sleeves], look.shirt)
        if look.shoes is not None:
            paint(FEET, look.shoes)
        colours[dominant == -1] = _linear(look.hair)
        return colours

    def _set_pattern(self, obj: bpy.types.Object, kind: str, colours, scale: float) -> None:
        """Rebuild a plane's material as a procedural pattern between two colours."""
        tree = obj.data.materials[0].node_tree
        nodes, links = tree.nodes, tree.links
        nodes.clear()
        out = nodes.new("ShaderNodeOutputMaterial")
        bsdf = nodes.new("ShaderNodeBsdfPrincipled")
        bsdf.inputs["Roughness"].default_value = 0.7
        coords = nodes.new("ShaderNodeTexCoord")
        tex = {
            "noise": "ShaderNodeTexNoise",
            "checker": "ShaderNodeTexChecker",
            "brick": "ShaderNodeTexBrick",
            "wave": "ShaderNodeTexWave",
            "voronoi": "ShaderNodeTexVoronoi",
        }[kind]
        node = nodes.new(tex)
        node.inputs["Scale"].default_value = scale
        links.new(coords.outputs["Object"], node.inputs["Vector"])
        mix = nodes.new("ShaderNodeMix")
        mix.data_type = "RGBA"
        mix.inputs[6].default_value = _linear(colours[0])
        mix.inputs[7].default_value = _linear(colours[1])
        fac = node.outputs["Fac"] if "Fac" in node.outputs else node.outputs["Distance"]
        links.new(fac, mix.inputs["Factor"])
        links.new(mix.outputs[2], bsdf.inputs["Base Color"])
        links.new(bsdf.outputs["BSDF"], out.inputs["Surface"])

    def _set_props(self, look: Look) -> None:
        for obj in self.props:
            bpy.data.materials.remove(obj.data.materials[0])
            bpy.data.meshes.remove(obj.data)  # removes the object with it
        self.props = []
        for i, box in enumerate(look.props):
            mesh = bpy.data.meshes.new(f"prop_{i}")
            corners = (
                np.array(
                    [[x, y, z] for x in (-0.5, 0.5) for y in (-0.5, 0.5) for z in (-0.5, 0.5)]
                )
                * box.size
                + box.centre
            )
            quads = [
                (0, 1, 3, 2),
                (4, 6, 7, 5),
                (0, 4, 5, 1),
                (2, 3, 7, 6),
                (0, 2, 6, 4),
                (1, 5, 7, 3),
            ]
            mesh.from_pydata((corners @ SMPL_TO_BLENDER.T).tolist(), [], quads)
            mat = bpy.data.materials.new(f"prop_{i}")
            mat.use_nodes = True
            mat.node_tree.nodes["Principled BSDF"].inputs["Base Color"].default_value = _linear(
                box.colour
            )
            mesh.materials.append(mat)
            obj = bpy.data.objects.new(mesh.name, mesh)
            self.scene.collection.objects.link(obj)
            self.props.append(obj)

    def _set_camera(self, camera: Camera) -> None:
        w, h = camera.image_size
        self.scene.render.resolution_x, self.scene.render.resolution_y = w, h
        data = self.camera.data
        data.sensor_fit = "HORIZONTAL"
        data.sensor_width = 36.0
        data.lens = camera.focal_px * 36.0 / w
        data.clip_start, data.clip_end = 0.05, 200.0
        # Blender's camera looks along its −z with +y up: OpenCV axes times diag(1, −1, −1)
        rot = SMPL_TO_BLENDER @ camera.rotation.T @ np.diag([1.0, -1.0, -1.0])
        m = np.eye(4)
        m[:3, :3], m[:3, 3] = rot, SMPL_TO_BLENDER @ camera.position
        self.camera.matrix_world = Matrix(m.tolist())

    def _set_lights(self, look: Look, camera: Camera, target: np.ndarray) -> None:
        el, az = look.sun_elevation, look.sun_azimuth
        towards = np.array([np.cos(el) * np.sin(az), np.sin(el), np.cos(el) * np.cos(az)])
        # the sun shines along −towards; its object's −z axis must point that way
        z = SMPL_TO_BLENDER @ towards
        x = np.cross([0.0, 0.0, 1.0], z)
        x = x / np.linalg.norm(x)
        m = np.eye(4)
        m[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
        self.sun.matrix_world = Matrix(m.tolist())
        self.sun.data.energy = look.sun_strength
        self.sun.data.angle = np.radians(3.0)
        ramp = self.scene.world.node_tree.nodes["sky"].color_ramp
        ramp.elements[0].color = _linear(look.sky[0])
        ramp.elements[1].color = _linear(look.sky[1])
        self.scene.world.node_tree.nodes["background"].inputs[
            1
        ].default_value = look.world_strength
        # the wall stands behind the body, facing the camera, 1.5-3 m beyond it
        away = target - camera.position
        away[1] = 0.0
        away /= np.linalg.norm(away)
        self.wall.hide_render = not look.wall
        centre = target + 2.0 * away
        centre[1] = 0.0
        z = SMPL_TO_BLENDER @ -away  # the plane's normal (its local z) towards the camera
        x = np.cross([0.0, 0.0, 1.0], z)
        x /= np.linalg.norm(x)
        m = np.eye(4)
        m[:3, :3] = np.stack([x, np.cross(z, x), z], axis=1)
        m[:3, 3] = SMPL_TO_BLENDER @ centre
        self.wall.matrix_world = Matrix(m.tolist())

    def render(self, path: str, model, betas, pose, transl, camera: Camera, look: Look) -> float:
        """Render the posed body to ``path`` (PNG); returns the render's wall time (s)."""
        import time

        for obj in self._meshes.values():
            obj.hide_render = True
        obj = self._body_object(model)
        obj.hide_render = False
        vertices, _ = model.forward(betas, pose, transl)
        obj.data.vertices.foreach_set(
            "co", (vertices @ SMPL_TO_BLENDER.T).astype(np.float32).ravel()
        )
        colours = self._clothes(self._regions[id(model)], look)
        obj.data.color_attributes["clothes"].data.foreach_set(
            "color", colours.astype(np.float32).ravel()
        )
        obj.data.update()
        principled = self.skin.node_tree.nodes["skin"]
        principled.inputs["Base Color"].default_value = _linear(look.skin)
        principled.inputs["Subsurface Weight"].default_value = look.subsurface
        principled.inputs["Roughness"].default_value = look.skin_roughness
        self._set_pattern(self.floor, look.floor, look.floor_colours, look.floor_scale)
        self._set_pattern(self.wall, "noise", look.wall_colours, 2.0)
        self._set_props(look)
        self._set_camera(camera)
        self._set_lights(look, camera, (vertices.min(axis=0) + vertices.max(axis=0)) / 2)
        self.scene.render.filepath = str(path)
        start = time.perf_counter()
        bpy.ops.render.render(write_still=True)
        return time.perf_counter() - start

    def photo(
        self,
        path: str,
        model,
        betas,
        pose,
        view: Shot | Camera,
        look: Look | None = None,
        rng: np.random.Generator | None = None,
    ) -> dict:
        """Render the body (``pose`` (72,) in the SMPL world) standing on the floor, seen from
        ``view`` (a Shot framed around the body, or a Camera in the world), in ``look`` (default
        a random one from ``rng``); returns ``render_scene.truth`` plus ``render_seconds``."""
        import render_scene as rs

        transl = rs.place_on_floor(model, betas, pose)
        vertices, _ = model.forward(betas, pose, transl)
        camera = view
        if isinstance(view, Shot):
            camera = rs.frame_body(vertices, rs.body_facing(pose), view)
        if look is None:
            look = rs.sample_look(rng if rng is not None else np.random.default_rng())
        seconds = self.render(path, model, betas, pose, transl, camera, look)
        return {**rs.truth(model, betas, pose, transl, camera), "render_seconds": seconds}
