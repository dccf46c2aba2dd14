"""Renderer tests against closed-form references (ray-plane depth, projections, texels)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from vlnsim.errors import ConfigError, InvalidPoseError
from vlnsim.geometry import euler_to_matrix, quat_from_yaw, quat_multiply, quat_to_matrix
from vlnsim.render.raycast import RayCaster
from vlnsim.render.renderer import BACKENDS, Renderer, render_topdown
from vlnsim.render.sensors import SensorSpec
from vlnsim.render.shading import ShadingConfig, colorize_depth, colorize_semantic
from vlnsim.scene.model import Material, Scene, SceneObject

DATA = Path(__file__).parent / "data" / "habitat-test-assets"
FLAT = ShadingConfig(ambient=1.0, diffuse=0.0)  # albedo only: colours are exact

# box room [x0, x1] x [y0, y1] x [z0, z1]
BOX_LO = np.array([-2.0, 0.0, -4.0])
BOX_HI = np.array([3.0, 2.5, 1.5])
# object id of each wall: -x, +x, floor, ceiling, -z, +z
WALL_IDS = {(0, 0): 10, (0, 1): 11, (1, 0): 12, (1, 1): 13, (2, 0): 14, (2, 1): 15}


def quad(p0, p1, p2, p3):
    """Two triangles of the quad p0-p1-p2-p3 (vertices in order around it)."""
    return np.array([p0, p1, p2, p3], dtype=np.float64), np.array([[0, 1, 2], [0, 2, 3]])


def box_room(lo=BOX_LO, hi=BOX_HI, skip=()) -> Scene:
    """Six axis-aligned walls (12 triangles), one object per wall, each its own colour."""
    verts, faces, fobj, uvs = [], [], [], []
    for (axis, side), oid in WALL_IDS.items():
        if (axis, side) in skip:
            continue
        a, b = [k for k in range(3) if k != axis]
        c = hi[axis] if side else lo[axis]
        corners = []
        for ua, ub in ((0, 0), (1, 0), (1, 1), (0, 1)):
            p = np.zeros(3)
            p[axis] = c
            p[a] = hi[a] if ua else lo[a]
            p[b] = hi[b] if ub else lo[b]
            corners.append(p)
        v, f = quad(*corners)
        faces.append(f + sum(len(x) for x in verts))
        verts.append(v)
        uvs.append(np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float64))
        fobj += [oid, oid]
    objects = [SceneObject(oid, "floor" if oid == 12 else "ceiling" if oid == 13 else "wall") for oid in WALL_IDS.values()]
    return Scene(
        vertices=np.concatenate(verts), faces=np.concatenate(faces), face_object=np.array(fobj),
        face_material=np.zeros(len(fobj), dtype=np.int32), uvs=np.concatenate(uvs),
        materials=[Material("grey", (0.5, 0.5, 0.5))], objects=objects, name="box",
    )


def reference_rays(width, height, hfov, rot):
    """World directions of pixel centres with camera-frame z = -1 (computed from scratch)."""
    f = (width / 2) / math.tan(math.radians(hfov) / 2)
    j, i = np.meshgrid(np.arange(width), np.arange(height))
    cam = np.stack([(j + 0.5 - width / 2) / f, -(i + 0.5 - height / 2) / f, -np.ones_like(j, dtype=float)], -1)
    return cam.reshape(-1, 3) @ np.asarray(rot).T


def box_reference(origin, dirs, lo=BOX_LO, hi=BOX_HI):
    """Analytic ray-plane hits inside an axis-aligned box: (t, object id)."""
    best_t = np.full(len(dirs), np.inf)
    best_id = np.full(len(dirs), -1)
    for (axis, side), oid in WALL_IDS.items():
        c = hi[axis] if side else lo[axis]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = (c - origin[axis]) / dirs[:, axis]
        p = origin + t[:, None] * dirs
        inside = np.all((p >= lo - 1e-9) & (p <= hi + 1e-9), axis=1)
        ok = (t > 0) & inside & (t < best_t)
        best_t[ok] = t[ok]
        best_id[ok] = oid
    return best_t, best_id


POSES = [
    # (agent position, agent yaw deg, sensor pitch deg, sensor height)
    ((0.0, 0.0, 0.0), 0.0, 0.0, 1.25),
    ((1.0, 0.0, -1.0), 37.0, 0.0, 1.25),
    ((-1.5, 0.0, 1.0), -120.0, -20.0, 1.0),
    ((2.5, 0.3, -3.5), 200.0, 35.0, 1.8),
    ((0.4, 0.0, -2.0), 90.0, 10.0, 0.5),
]


@pytest.mark.parametrize("pos, yaw, pitch, height", POSES)
def test_depth_and_semantic_match_analytic_box(pos, yaw, pitch, height):
    scene = box_room()
    renderer = Renderer(scene)
    w, h, hfov = 40, 30, 75.0
    orient = (math.radians(pitch), 0.0, 0.0)
    sensors = [SensorSpec("depth", "depth", w, h, hfov, position=(0, height, 0), orientation=orient, max_depth=100.0),
               SensorSpec("sem", "semantic", w, h, hfov, position=(0, height, 0), orientation=orient)]
    q = quat_from_yaw(math.radians(yaw))
    obs = renderer.render(sensors, pos, q)
    assert obs["depth"].shape == (h, w, 1) and obs["depth"].dtype == np.float32
    assert obs["sem"].shape == (h, w) and obs["sem"].dtype == np.int32

    agent_rot = quat_to_matrix(q)
    rot = agent_rot @ euler_to_matrix(orient)
    origin = np.asarray(pos) + agent_rot @ np.array([0, height, 0])
    dirs = reference_rays(w, h, hfov, rot)
    t_ref, id_ref = box_reference(origin, dirs)
    depth = obs["depth"].reshape(-1)
    assert np.abs(depth - t_ref).max() < 1e-3
    # z-depth, not the Euclidean ray length: off-centre they differ by the ray's length
    ray_len = t_ref * np.linalg.norm(dirs, axis=1)
    corner = 0  # top-left pixel
    assert ray_len[corner] - depth[corner] > 0.1
    # semantic: ids agree except on the few pixels whose ray passes within a hair of an edge
    assert np.mean(obs["sem"].reshape(-1) == id_ref) > 0.98


def test_depth_is_clipped_normalised_and_zero_on_miss():
    scene = box_room(skip={(2, 0)})  # no -z wall: looking along -z sees nothing
    r = Renderer(scene)
    q = quat_from_yaw(0.0)
    pos = (0.0, 0.0, 0.0)
    raw = SensorSpec("raw", "depth", 16, 16, 60.0, max_depth=100.0)
    clipped = SensorSpec("clip", "depth", 16, 16, 60.0, min_depth=0.5, max_depth=1.0)
    norm = SensorSpec("norm", "depth", 16, 16, 60.0, min_depth=0.5, max_depth=3.0, normalize_depth=True)
    sem = SensorSpec("sem", "semantic", 16, 16, 60.0)
    rgb = SensorSpec("rgb", "rgb", 16, 16, 60.0)
    obs = r.render([raw, clipped, norm, sem, rgb], pos, q)
    miss = obs["sem"] == -1
    assert miss.any() and (~miss).any()  # some rays leave through the missing wall
    assert np.all(obs["raw"][..., 0][miss] == 0)
    assert np.all(obs["rgb"][miss] == 0)  # background
    hit = ~miss
    d = obs["raw"][..., 0][hit]
    assert np.allclose(obs["clip"][..., 0][hit], np.clip(d, 0.5, 1.0))
    assert np.allclose(obs["norm"][..., 0][hit], (np.clip(d, 0.5, 3.0) - 0.5) / 2.5, atol=1e-6)
    assert np.all(obs["clip"][..., 0][miss] == 0) and np.all(obs["norm"][..., 0][miss] == 0)


def test_sensor_pitched_down_sees_floor_at_sensor_height():
    scene = box_room()
    r = Renderer(scene)
    down = SensorSpec("d", "depth", 24, 24, 90.0, position=(0.0, 1.25, 0.0), orientation=(-math.pi / 2, 0.0, 0.0))
    obs = r.render([down], (0.5, 0.0, -1.0), quat_from_yaw(0.7))
    # a camera looking straight down at a plane: z-depth is the height everywhere
    assert np.allclose(obs["d"], 1.25, atol=1e-4)
    up = SensorSpec("u", "depth", 8, 8, 60.0, position=(0.0, 1.0, 0.0), orientation=(math.pi / 2, 0.0, 0.0))
    assert np.allclose(r.render([up], (0.5, 0.0, -1.0), quat_from_yaw(0.0))["u"], 2.5 - 1.0, atol=1e-4)


def test_sensor_mount_offset_is_rotated_with_the_agent():
    scene = box_room()
    r = Renderer(scene)
    # sensor 0.5 m in front of the agent; agent turned 90 deg left, so it faces -x
    s = SensorSpec("d", "depth", 9, 9, 60.0, position=(0.0, 1.0, -0.5), max_depth=50.0)
    obs = r.render([s], (0.0, 0.0, 0.0), quat_from_yaw(math.pi / 2))
    centre = obs["d"][4, 4, 0]
    assert abs(centre - 1.5) < 1e-4  # camera at x = -0.5, wall at x = -2
    # a sensor yawed +90 deg on an agent yawed -90 deg looks along -z again
    s2 = SensorSpec("d2", "depth", 9, 9, 60.0, position=(0.0, 1.0, 0.0), orientation=(0.0, math.pi / 2, 0.0), max_depth=50.0)
    assert abs(r.render([s2], (0.0, 0.0, 0.0), quat_from_yaw(-math.pi / 2))["d2"][4, 4, 0] - 4.0) < 1e-4


def _pixel_of(point, origin, width, height, hfov):
    """Pixel (row, col) of a world point for a camera at ``origin`` looking along -z."""
    f = (width / 2) / math.tan(math.radians(hfov) / 2)
    rel = np.asarray(point, dtype=float) - np.asarray(origin, dtype=float)
    col = width / 2 + f * rel[0] / -rel[2]
    row = height / 2 - f * rel[1] / -rel[2]
    return int(row), int(col)


def _cube(center, half):
    c = np.asarray(center, dtype=float)
    corners = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float) * half + c
    faces = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                      [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
    return corners, faces


def test_semantic_ids_at_projected_object_centres():
    v1, f1 = _cube((-1.0, 1.0, -5.0), 0.4)
    v2, f2 = _cube((1.2, 1.5, -4.0), 0.3)
    floor_v = np.array([[-10, 0, -10], [10, 0, -10], [10, 0, 10], [-10, 0, 10]], dtype=float)
    floor_f = np.array([[0, 1, 2], [0, 2, 3]])
    verts = np.concatenate([v1, v2, floor_v])
    faces = np.concatenate([f1, f2 + 8, floor_f + 16])
    fobj = np.array([7] * 12 + [9] * 12 + [3] * 2)
    scene = Scene(verts, faces, fobj, np.zeros(len(faces), np.int32), np.zeros((len(verts), 2)),
                  [Material("m", (0.5, 0.5, 0.5))],
                  objects=[SceneObject(7, "cube"), SceneObject(9, "cube"), SceneObject(3, "floor")])
    w, h, hfov = 64, 48, 90.0
    r = Renderer(scene)
    sem = r.render([SensorSpec("s", "semantic", w, h, hfov, position=(0, 1.25, 0))], (0, 0, 0), quat_from_yaw(0))["s"]
    eye = (0, 1.25, 0)
    assert sem[_pixel_of((-1.0, 1.0, -4.6), eye, w, h, hfov)] == 7  # front face centre of cube 7
    assert sem[_pixel_of((1.2, 1.5, -3.7), eye, w, h, hfov)] == 9
    assert sem[_pixel_of((0.0, 0.0, -3.0), eye, w, h, hfov)] == 3  # floor in front
    assert sem[0, w // 2] == -1  # sky above the horizon
    assert set(np.unique(sem)) == {-1, 3, 7, 9}


def checker_scene(base=(1.0, 1.0, 1.0), vertex_colors=None, extra_texture=False) -> Scene:
    """A 2x2-texel checker on the quad z = -1, x, y in [-1, 1] (fills a 90-degree view);
    ``extra_texture`` adds an unused 3x5 texture (textures of mixed sizes)."""
    tex = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]], dtype=np.uint8)
    v = np.array([[-1, -1, -1], [1, -1, -1], [1, 1, -1], [-1, 1, -1]], dtype=float)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=float)  # v up: (0, 0) is bottom-left
    f = np.array([[0, 1, 2], [0, 2, 3]])
    mats = [Material("checker", base, tex if vertex_colors is None else None)]
    if extra_texture:
        mats.append(Material("other", (1, 1, 1), np.full((3, 5, 3), 77, np.uint8)))
    return Scene(v, f, np.array([5, 5]), np.array([0, 0]), uv, mats, [SceneObject(5, "board")],
                 vertex_colors=vertex_colors)


@pytest.mark.parametrize("texture_filter, mixed", [("nearest", False), ("bilinear", False), ("nearest", True),
                                                   ("bilinear", True)])
def test_texture_pattern_appears_at_expected_pixels(texture_filter, mixed):
    r = Renderer(checker_scene(extra_texture=mixed), shading=ShadingConfig(texture_filter=texture_filter, ambient=1.0, diffuse=0.0))
    s = SensorSpec("rgb", "rgb", 32, 32, 90.0, position=(0, 0, 0))
    img = r.render([s], (0, 0, 0), quat_from_yaw(0))["rgb"]
    assert img.shape == (32, 32, 3) and img.dtype == np.uint8
    # texel row 0 (top of the image file) is v = 1, the top of the view; bilinear
    # pixel (8, 8) is 1/32 texel off the texel centre, so it mixes in ~6% of neighbours
    tol = 0 if texture_filter == "nearest" else 20
    for (i, j), colour in {(8, 8): [255, 0, 0], (8, 24): [0, 255, 0], (24, 8): [0, 0, 255], (24, 24): [255, 255, 255]}.items():
        assert np.abs(img[i, j].astype(int) - colour).max() <= tol, (i, j, img[i, j])
    if texture_filter == "nearest":
        assert np.all(img[:16, :16] == [255, 0, 0]) and np.all(img[16:, 16:] == [255, 255, 255])
    else:  # every pixel against a scalar bilinear lookup with wrap-around (GL_REPEAT)
        tex = checker_scene().materials[0].texture.astype(float)
        for i in range(32):
            for j in range(32):
                x = (j + 0.5) / 32 * 2 - 0.5  # u * W - 0.5; v = 1 - (i + 0.5) / 32, row = (1 - v) * H - 0.5
                y = (i + 0.5) / 32 * 2 - 0.5
                x0, y0 = math.floor(x), math.floor(y)
                fx, fy = x - x0, y - y0
                c = sum(tex[(y0 + dy) % 2, (x0 + dx) % 2] * (fx if dx else 1 - fx) * (fy if dy else 1 - fy)
                        for dx in (0, 1) for dy in (0, 1))
                assert np.abs(img[i, j] - c).max() <= 1.0, (i, j, img[i, j], c)


def test_base_color_vertex_color_and_lighting():
    s = SensorSpec("rgb", "rgb", 32, 32, 90.0, position=(0, 0, 0))
    q = quat_from_yaw(0)
    img = Renderer(checker_scene(base=(0.5, 1.0, 0.2)), shading=FLAT).render([s], (0, 0, 0), q)["rgb"]
    assert img[8, 8].tolist() == [128, 0, 0] and img[24, 24].tolist() == [128, 255, 51]
    vc = np.array([[200, 10, 10]] * 4, dtype=np.uint8)
    img = Renderer(checker_scene(vertex_colors=vc), shading=FLAT).render([s], (0, 0, 0), q)["rgb"]
    assert np.all(np.abs(img.astype(int) - [200, 10, 10]) <= 1)
    # fixed light along the quad normal: full colour; perpendicular: ambient only
    full = Renderer(checker_scene(), shading=ShadingConfig(light=(0, 0, 1))).render([s], (0, 0, 0), q)["rgb"]
    assert full[24, 24].tolist() == [255, 255, 255]
    side = Renderer(checker_scene(), shading=ShadingConfig(light=(1, 0, 0))).render([s], (0, 0, 0), q)["rgb"]
    assert np.all(np.abs(side[24, 24].astype(int) - round(0.45 * 255)) <= 1)
    # headlight: ambient + diffuse * cos(angle between the pixel's ray and the normal)
    head = Renderer(checker_scene()).render([s], (0, 0, 0), q)["rgb"]
    f = 16 / math.tan(math.radians(45))
    for i, j in ((24, 24), (31, 31), (16, 30)):
        d = np.array([(j + 0.5 - 16) / f, -(i + 0.5 - 16) / f, -1.0])
        expect = 255 * (0.45 + 0.55 * abs(d[2]) / np.linalg.norm(d))
        assert abs(int(head[i, j, 0]) - expect) <= 1.5


def test_real_mesh_depth_matches_brute_force_intersection():
    """On habitat's uneven floor stage, depth straight down equals a brute-force hit."""
    from vlnsim.scene.io import load_scene

    scene = load_scene(DATA / "stage_floor1.glb")
    r = Renderer(scene)
    s = SensorSpec("d", "depth", 12, 12, 60.0, position=(0, 0, 0), orientation=(-math.pi / 2, 0, 0), max_depth=100.0)
    origin = np.array([1.3, 3.0, -2.1])
    depth = r.render([s], origin, quat_from_yaw(0.4))["d"].reshape(-1)
    rot = quat_to_matrix(quat_from_yaw(0.4)) @ euler_to_matrix((-math.pi / 2, 0, 0))
    dirs = reference_rays(12, 12, 60.0, rot)
    tri = scene.vertices[scene.faces].astype(np.float64)  # (F, 3, 3)
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    for k in range(0, len(dirs), 7):  # Moller-Trumbore against every triangle
        d = dirs[k]
        p = np.cross(d, e2)
        det = np.einsum("ij,ij->i", e1, p)
        tv = origin - tri[:, 0]
        u = np.einsum("ij,ij->i", tv, p) / det
        qv = np.cross(tv, e1)
        v = (qv @ d) / det
        t = np.einsum("ij,ij->i", e2, qv) / det
        ok = (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0)
        assert ok.any()
        assert abs(t[ok].min() - depth[k]) < 1e-3


def test_outputs_share_one_cast_per_camera_and_are_consistent():
    scene = box_room()
    r = Renderer(scene)
    a = [SensorSpec("rgb", "rgb", 20, 10), SensorSpec("depth", "depth", 20, 10), SensorSpec("sem", "semantic", 20, 10),
         SensorSpec("small", "rgb", 8, 6, 60.0)]
    obs = r.render(a, (0, 0, 0), quat_multiply(quat_from_yaw(0.3), quat_from_yaw(0.2)))
    assert set(obs) == {"rgb", "depth", "sem", "small"}
    assert obs["small"].shape == (6, 8, 3) and obs["rgb"].shape == (10, 20, 3)
    assert len(r._cameras) == 2  # two distinct camera keys -> two cached ray sets
    assert np.array_equal(obs["depth"][..., 0] > 0, obs["sem"] >= 0)


def test_bad_configuration_and_pose_raise():
    scene = box_room()
    with pytest.raises(ConfigError, match="embree"):
        Renderer(scene, backend="opengl")
    assert "embree" in BACKENDS and "warp" in BACKENDS
    with pytest.raises(ConfigError, match="different scene"):
        Renderer(scene, raycaster=RayCaster(box_room()))
    r = Renderer(scene)
    s = SensorSpec("rgb", "rgb", 4, 4)
    with pytest.raises(InvalidPoseError):
        r.render([s], (0, 0, 0), (0, 0, 0, 2))
    with pytest.raises(InvalidPoseError):
        r.render([s], (0, float("nan"), 0), (0, 0, 0, 1))
    with pytest.raises(ConfigError, match="duplicate"):
        r.render([s, SensorSpec("rgb", "depth", 4, 4)], (0, 0, 0), (0, 0, 0, 1))
    with pytest.raises(ConfigError, match="texture_filter"):
        ShadingConfig(texture_filter="cubic")
    with pytest.raises(ConfigError, match="light"):
        ShadingConfig(light=(0, 0, 0))


@pytest.mark.parametrize("field, kwargs", [
    ("width", dict(width=0)), ("height", dict(height=-3)), ("hfov", dict(hfov=180.0)), ("hfov", dict(hfov=0.0)),
])
def test_sensor_spec_rejects_bad_size_and_fov(field, kwargs):
    with pytest.raises(ConfigError, match=field):
        SensorSpec("cam", "rgb", **kwargs)


def test_shared_raycaster_is_used():
    scene = box_room()
    rc = RayCaster(scene)
    assert Renderer(scene, raycaster=rc).raycaster is rc


def test_topdown_skips_ceiling_and_shows_floor():
    scene = box_room()
    scene.materials = [Material("grey", (0.5, 0.5, 0.5))]
    img = render_topdown(scene, meters_per_pixel=0.1)
    assert img.shape == (55, 50, 3)  # z extent 5.5 m, x extent 5 m
    # floor seen from straight above under light (0.3, 1, 0.2): 128 + 128 * cos
    cos = 1 / np.linalg.norm([0.3, 1.0, 0.2])
    expect = round(0.5 * 255) * (128 + 128 * cos) / 256
    assert np.all(np.abs(img[5:-5, 5:-5].astype(int) - expect) <= 1.5)
    sem_top = render_topdown(scene, meters_per_pixel=0.1, skip_categories=())
    assert sem_top.shape == img.shape  # the ceiling is seen when nothing is skipped (same colour here)
    with pytest.raises(ConfigError):
        render_topdown(scene, meters_per_pixel=0)


def test_colour_maps():
    d = np.array([[0.0, 1.0], [2.0, 4.0]], dtype=np.float32)[..., None]
    rgb = colorize_depth(d)
    assert rgb.shape == (2, 2, 3) and rgb[0, 0].tolist() == [0, 0, 0]
    lum = rgb.astype(int).sum(-1)
    assert lum[0, 1] > lum[1, 0] > lum[1, 1]  # nearer is brighter
    sem = colorize_semantic(np.array([[-1, 3], [3, 4]]))
    assert sem[0, 0].tolist() == [0, 0, 0] and sem[0, 1].tolist() == sem[1, 0].tolist()
    assert sem[0, 1].tolist() != sem[1, 1].tolist()


# ---------------------------------------------------------------------------- vlnsim view
def test_view_command_writes_pngs_of_a_file(tmp_path, capsys):
    from PIL import Image

    from vlnsim.cli import main

    out = tmp_path / "views"
    rc = main(["view", str(DATA / "stage_floor1.glb"), "--out", str(out), "--width", "40", "--height", "30",
               "--meters-per-pixel", "0.25"])
    assert rc == 0
    printed = capsys.readouterr().out
    for kind in ("rgb", "depth", "semantic", "topdown"):
        p = out / f"stage_floor1_{kind}.png"
        assert str(p) in printed
        img = np.asarray(Image.open(p))
        assert img.dtype == np.uint8 and img.ndim == 3
        if kind != "topdown":
            assert img.shape == (30, 40, 3)
    rgb = np.asarray(Image.open(out / "stage_floor1_rgb.png"))
    assert (rgb.sum(-1) > 0).mean() > 0.3  # the default pose (1.25 m above the bottom) sees the floor
    assert np.asarray(Image.open(out / "stage_floor1_topdown.png")).shape == (80, 80, 3)  # 20 m / 0.25


def test_view_command_pose_options_and_errors(tmp_path, capsys):
    from vlnsim.cli import main

    rc = main(["view", str(DATA / "chair.glb"), "--out", str(tmp_path), "--position", "0", "-0.8", "1.0",
               "--yaw", "0", "--width", "16", "--height", "16", "--hfov", "60", "--filter", "nearest"])
    assert rc == 0 and (tmp_path / "chair_semantic.png").exists()
    assert main(["view", str(tmp_path / "missing.glb"), "--out", str(tmp_path)]) == 2
    assert "missing.glb" in capsys.readouterr().err
    assert main(["view", str(DATA / "chair.glb"), "--hfov", "200", "--out", str(tmp_path)]) == 2
    assert main(["view", "--out", str(tmp_path)]) == 2  # neither a file nor --house


def test_view_command_renders_a_house(tmp_path, capsys):
    from PIL import Image

    from vlnsim.cli import main

    rc = main(["view", "--house", "1", "--views", "2", "--width", "24", "--height", "16", "--out", str(tmp_path),
               "--meters-per-pixel", "0.1"])
    assert rc == 0
    printed = capsys.readouterr().out.split()
    rgbs = sorted(tmp_path.glob("*_room*_rgb.png"))
    assert len(rgbs) == 2
    for p in rgbs:
        img = np.asarray(Image.open(p))
        assert img.shape == (16, 24, 3) and (img.sum(-1) > 0).all()  # inside a closed room every ray hits
    tops = list(tmp_path.glob("*_topdown.png"))
    assert len(tops) == 1 and str(tops[0]) in printed


# ---------------------------------------------------------------------------- warp backend
def _has_warp() -> bool:
    import importlib.util

    return importlib.util.find_spec("warp") is not None


@pytest.mark.skipif(_has_warp(), reason="warp is installed; the backend itself is tested below")
def test_warp_backend_without_warp_says_how_to_install():
    with pytest.raises(ConfigError, match="warp-lang|vlnsim\\[gpu\\]"):
        Renderer(box_room(), backend="warp")


@pytest.mark.skipif(not _has_warp(), reason="NVIDIA Warp not installed (pip install 'vlnsim[gpu]')")
@pytest.mark.parametrize("scene_fn, shading", [(box_room, None), (checker_scene, FLAT)])
def test_warp_backend_matches_analytic_and_embree(scene_fn, shading):
    scene = scene_fn()
    s = [SensorSpec("rgb", "rgb", 40, 30, 75.0), SensorSpec("d", "depth", 40, 30, 75.0, max_depth=100.0),
         SensorSpec("s", "semantic", 40, 30, 75.0)]
    pose = ((0.3, 0.0, 0.2), quat_from_yaw(0.4))
    warp = Renderer(scene, backend="warp:cpu", shading=shading).render(s, *pose)
    embree = Renderer(scene, shading=shading).render(s, *pose)
    if scene_fn is box_room:
        rot = quat_to_matrix(pose[1])
        t_ref, _ = box_reference(np.asarray(pose[0]) + rot @ np.array([0, 1.25, 0]), reference_rays(40, 30, 75.0, rot))
        assert np.abs(warp["d"].reshape(-1) - t_ref).max() < 1e-3
    assert np.abs(warp["d"] - embree["d"]).max() < 1e-4
    assert np.mean(warp["s"] == embree["s"]) > 0.99
    assert np.mean(np.abs(warp["rgb"].astype(int) - embree["rgb"]).max(-1) <= 1) > 0.99


def test_sliced_shading_equals_whole_frame_shading():
    scene = checker_scene()
    s = [SensorSpec("rgb", "rgb", 37, 29, 100.0, position=(0.1, 0.2, 0.3))]
    pose = ((0.0, 0.0, 0.4), quat_from_yaw(0.3))
    whole = Renderer(scene)
    sliced = Renderer(scene)
    sliced.tables.chunk = 100  # 37 * 29 pixels in 11 slices, the last one partial
    a, b = whole.render(s, *pose)["rgb"], sliced.render(s, *pose)["rgb"]
    assert np.array_equal(a, b) and (a.sum(-1) == 0).any()  # includes background pixels
