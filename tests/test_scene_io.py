"""Scene file I/O: real habitat assets, hand-written glTF/OBJ/PLY files, round trips, bad input."""
from __future__ import annotations

import io
import json
import math
import struct
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from vlnsim.errors import ConfigError, SceneFileError, SceneNotFoundError
from vlnsim.geometry import quat_from_yaw
from vlnsim.render.renderer import Renderer
from vlnsim.render.sensors import SensorSpec
from vlnsim.render.shading import ShadingConfig
from vlnsim.scene.io import SUPPORTED_EXTENSIONS, load_scene, save_scene, sidecar_path
from vlnsim.scene.model import Material, Room, Scene, SceneObject, merge_meshes

DATA = Path(__file__).parent / "data" / "habitat-test-assets"
CHECKER = np.array([[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 255]]], dtype=np.uint8)
FLAT = ShadingConfig(ambient=1.0, diffuse=0.0)



def quad_ply(colors):
    """ASCII PLY of the unit quad at z = -1 (two triangles) with one RGB colour per corner."""
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1)]
    verts = "".join(f"{x} {y} -1 {r} {g} {b}\n" for (x, y), (r, g, b) in zip(corners, colors))
    return ("ply\nformat ascii 1.0\nelement vertex 4\nproperty float x\nproperty float y\nproperty float z\n"
            "property uchar red\nproperty uchar green\nproperty uchar blue\nelement face 2\n"
            "property list uchar int vertex_indices\nend_header\n" + verts + "3 0 1 2\n3 0 2 3\n")

def _png(img: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def write_checker_glb(path: Path, vertex_colors: np.ndarray | None = None) -> None:
    """A GLB written byte by byte (no trimesh): the quad z=-1, x,y in [-1,1], with glTF
    texture coordinates, whose (0, 0) is the top-left of the image, on the top-left corner.
    With ``vertex_colors`` (4, 3) float it is untextured, base colour (0.5, 1, 1), COLOR_0 set."""
    pos = np.array([[-1, 1, -1], [1, 1, -1], [1, -1, -1], [-1, -1, -1]], dtype=np.float32)
    uv = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)  # glTF: v down
    idx = np.array([0, 3, 2, 0, 2, 1], dtype=np.uint16)  # counter-clockwise seen from +z
    blobs = [pos.tobytes(), uv.tobytes(), idx.tobytes()]
    blobs.append(_png(CHECKER) if vertex_colors is None else np.asarray(vertex_colors, np.float32).tobytes())
    chunks, views, off = [], [], 0
    for blob in blobs:
        pad = (-len(blob)) % 4
        views.append({"buffer": 0, "byteOffset": off, "byteLength": len(blob)})
        chunks.append(blob + b"\0" * pad)
        off += len(blob) + pad
    accessors = [
        {"bufferView": 0, "componentType": 5126, "count": 4, "type": "VEC3", "min": [-1, -1, -1], "max": [1, 1, -1]},
        {"bufferView": 1, "componentType": 5126, "count": 4, "type": "VEC2"},
        {"bufferView": 2, "componentType": 5123, "count": 6, "type": "SCALAR"},
    ]
    attributes = {"POSITION": 0, "TEXCOORD_0": 1}
    gltf = {
        "asset": {"version": "2.0"}, "scene": 0, "scenes": [{"nodes": [0]}],
        "nodes": [{"mesh": 0, "name": "board_01"}],
        "meshes": [{"primitives": [{"attributes": attributes, "indices": 2, "material": 0}]}],
        "accessors": accessors, "bufferViews": views, "buffers": [{"byteLength": off}],
    }
    if vertex_colors is None:
        gltf["materials"] = [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}, "metallicFactor": 0.0}}]
        gltf.update(textures=[{"source": 0, "sampler": 0}], samplers=[{"magFilter": 9728, "minFilter": 9728}],
                    images=[{"bufferView": 3, "mimeType": "image/png"}])
    else:
        gltf["materials"] = [{"pbrMetallicRoughness": {"baseColorFactor": [0.5, 1.0, 1.0, 1.0]}}]
        accessors.append({"bufferView": 3, "componentType": 5126, "count": 4, "type": "VEC3"})
        attributes["COLOR_0"] = 3
    js = json.dumps(gltf).encode()
    js += b" " * ((-len(js)) % 4)
    binary = b"".join(chunks)
    total = 12 + 8 + len(js) + 8 + len(binary)
    path.write_bytes(struct.pack("<III", 0x46546C67, 2, total) + struct.pack("<II", len(js), 0x4E4F534A) + js
                     + struct.pack("<II", len(binary), 0x004E4942) + binary)


def render_checker(scene: Scene) -> np.ndarray:
    s = SensorSpec("rgb", "rgb", 32, 32, 90.0, position=(0, 0, 0))
    return Renderer(scene, shading=FLAT).render([s], (0, 0, 0), quat_from_yaw(0))["rgb"]


def assert_checker_upright(img: np.ndarray) -> None:
    assert img[8, 8].tolist() == [255, 0, 0]  # image texel (0, 0) in the top-left of the view
    assert img[8, 24].tolist() == [0, 255, 0]
    assert img[24, 8].tolist() == [0, 0, 255]
    assert img[24, 24].tolist() == [255, 255, 255]


# ---------------------------------------------------------------------------- real assets
def test_habitat_chair_loads_with_texture_uvs_and_node_transform():
    scene = load_scene(DATA / "chair.glb")
    assert scene.num_triangles == 1008
    assert len(scene.materials) == 1 and scene.materials[0].texture is not None
    tex = scene.materials[0].texture
    assert tex.dtype == np.uint8 and tex.ndim == 3 and tex.shape[2] == 3 and tex.shape[0] >= 64
    assert scene.uvs.min() >= 0.0 and scene.uvs.max() <= 1.0 and np.ptp(scene.uvs, axis=0).min() > 0.5
    lo, hi = scene.bounds
    # the node scales centimetre vertices by 0.01: a chair under 1.5 m in every direction
    assert np.all(hi - lo < 1.5) and np.all(hi - lo > 0.2)
    assert [o.category for o in scene.objects] == ["frl_apartment_chair"]
    assert np.all(scene.face_object == scene.objects[0].id)
    # rendered from the front, the chair's texture colours show up (not a flat base colour)
    s = SensorSpec("rgb", "rgb", 48, 48, 60.0, position=(0, 0, 0))
    c = (lo + hi) / 2
    img = Renderer(scene, shading=FLAT).render([s], (c[0], c[1], hi[2] + 0.9), quat_from_yaw(0))["rgb"]
    chair = img[img.sum(-1) > 0]
    assert len(chair) > 120 and len(np.unique(chair, axis=0)) > 8  # seat and legs differ


def test_habitat_stage_loads_2048_triangles():
    scene = load_scene(DATA / "stage_floor1.glb")
    assert scene.num_triangles == 2048
    lo, hi = scene.bounds
    assert np.allclose(lo[[0, 2]], -10, atol=0.01) and np.allclose(hi[[0, 2]], 10, atol=0.01)
    assert -0.8 < lo[1] < -0.78 and 1.07 < hi[1] < 1.08
    assert scene.materials[0].texture is None
    assert np.allclose(scene.materials[0].base_color, np.array([108, 204, 135]) / 255, atol=1 / 255)


# ---------------------------------------------------------------------------- conventions
def test_hand_written_glb_texture_is_upright(tmp_path):
    path = tmp_path / "board.glb"
    write_checker_glb(path)
    scene = load_scene(path)
    assert scene.num_triangles == 2 and scene.objects[0].category == "board"
    assert np.array_equal(scene.materials[0].texture, CHECKER)
    assert_checker_upright(render_checker(scene))


def test_gltf_vertex_colours_multiply_the_base_colour(tmp_path):
    path = tmp_path / "vc.glb"
    write_checker_glb(path, vertex_colors=np.array([[0.8, 0.4, 0.2]] * 4))
    scene = load_scene(path)
    assert scene.vertex_colors is not None and scene.vertex_colors[0].tolist() == [204, 102, 51]
    assert np.allclose(scene.materials[0].base_color, (0.5, 1.0, 1.0), atol=1 / 255)
    img = render_checker(scene)
    assert np.abs(img[5, 20].astype(int) - [102, 102, 51]).max() <= 1


def test_obj_with_mtl_texture_is_upright(tmp_path):
    Image.fromarray(CHECKER).save(tmp_path / "checker.png")
    (tmp_path / "board.mtl").write_text("newmtl board\nKd 1 1 1\nmap_Kd checker.png\n")
    # OBJ texture coordinates have v up: (0, 0) is the bottom-left of the image
    (tmp_path / "board.obj").write_text(
        "mtllib board.mtl\nv -1 -1 -1\nv 1 -1 -1\nv 1 1 -1\nv -1 1 -1\n"
        "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nusemtl board\nf 1/1 2/2 3/3\nf 1/1 3/3 4/4\n")
    scene = load_scene(tmp_path / "board.obj")
    assert scene.num_triangles == 2
    assert_checker_upright(render_checker(scene))


def test_obj_diffuse_colour_and_ply_vertex_colours(tmp_path):
    (tmp_path / "m.mtl").write_text("newmtl paint\nKd 0.2 0.4 0.6\n")
    (tmp_path / "q.obj").write_text("mtllib m.mtl\nv -1 -1 -1\nv 1 -1 -1\nv 1 1 -1\nv -1 1 -1\nusemtl paint\nf 1 2 3\nf 1 3 4\n")
    scene = load_scene(tmp_path / "q.obj")
    assert np.allclose(scene.materials[0].base_color, (0.2, 0.4, 0.6), atol=1 / 255)
    img = render_checker(scene)
    assert np.all(np.abs(img[16, 16].astype(int) - [51, 102, 153]) <= 1)

    (tmp_path / "q.ply").write_text(quad_ply([(10, 200, 30)] * 4))
    scene = load_scene(tmp_path / "q.ply")
    assert scene.vertex_colors is not None and scene.vertex_colors[0].tolist() == [10, 200, 30]
    img = render_checker(scene)
    assert np.all(np.abs(img[10, 20].astype(int) - [10, 200, 30]) <= 1)


def _zup_file(tmp_path) -> Path:
    """A +Z-up GLB: a 4 x 6 m floor at z = 0 and a 2 m column standing on it."""
    floor = trimesh.Trimesh(vertices=[[-2, -3, 0], [2, -3, 0], [2, 3, 0], [-2, 3, 0]], faces=[[0, 1, 2], [0, 2, 3]],
                            process=False)
    column = trimesh.creation.box(extents=(0.4, 0.4, 2.0))
    column.apply_translation((1.0, 1.0, 1.0))
    ts = trimesh.Scene()
    ts.add_geometry(floor, node_name="floor", geom_name="floor")
    ts.add_geometry(column, node_name="column", geom_name="column")
    path = tmp_path / "zup.glb"
    path.write_bytes(ts.export(file_type="glb"))
    return path


def test_z_up_file_loads_with_floor_at_the_bottom(tmp_path):
    path = _zup_file(tmp_path)
    scene = load_scene(path, up_axis="z")
    lo, hi = scene.bounds
    floor_id = next(o.id for o in scene.objects if o.category == "floor")
    fv = scene.vertices[np.unique(scene.faces[scene.face_object == floor_id])]
    assert np.allclose(fv[:, 1], lo[1]) and abs(lo[1]) < 1e-6  # horizontal, at the bottom
    assert np.isclose(hi[1] - lo[1], 2.0)  # the column's height is along +Y
    # (x, y, z) -> (x, z, -y): the floor corner (2, 3, 0) is at (2, 0, -3)
    assert np.any(np.all(np.isclose(fv, [2, 0, -3]), axis=1))
    # a camera looking down from 5 m sees the floor at 5 m and the column top at 3 m
    down = SensorSpec("d", "depth", 3, 3, 10.0, position=(0, 0, 0), orientation=(-math.pi / 2, 0, 0))
    r = Renderer(scene)
    assert abs(r.render([down], (-1.0, 5.0, 0.0), (0, 0, 0, 1))["d"][1, 1, 0] - 5.0) < 1e-4
    assert abs(r.render([down], (1.0, 5.0, -1.0), (0, 0, 0, 1))["d"][1, 1, 0] - 3.0) < 1e-4

    wrong = load_scene(path, up_axis="y")
    lo, hi = wrong.bounds
    fid = next(o.id for o in wrong.objects if o.category == "floor")
    fv = wrong.vertices[np.unique(wrong.faces[wrong.face_object == fid])]
    assert np.ptp(fv[:, 1]) == pytest.approx(6.0)  # the floor stands upright
    assert not np.allclose(fv[:, 1], lo[1])


def test_node_transforms_are_applied_per_instance(tmp_path):
    tri = trimesh.Trimesh(vertices=[[0, 0, 0], [1, 0, 0], [0, 1, 0]], faces=[[0, 1, 2]], process=False)
    ts = trimesh.Scene()
    t1 = trimesh.transformations.translation_matrix((5, 0, 0))
    t2 = trimesh.transformations.rotation_matrix(math.pi / 2, (0, 0, 1)) @ np.diag([2.0, 2.0, 2.0, 1.0])
    ts.add_geometry(tri, node_name="lamp.001", geom_name="tri", transform=t1)
    ts.add_geometry(tri, node_name="lamp.002", geom_name="tri", transform=t2)
    path = tmp_path / "inst.glb"
    path.write_bytes(ts.export(file_type="glb"))
    scene = load_scene(path)
    assert scene.num_triangles == 2 and len(scene.objects) == 2
    assert [o.category for o in scene.objects] == ["lamp", "lamp"]
    got = sorted(scene.vertices[scene.faces[scene.face_object == o.id][0]].round(5).tolist() for o in scene.objects)
    want = sorted(((T[:3, :3] @ np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0]], float).T).T + T[:3, 3]).round(5).tolist()
                  for T in (t1, t2))
    assert np.allclose(got, want, atol=1e-5)


# ---------------------------------------------------------------------------- round trip
def multi_object_scene() -> Scene:
    rng = np.random.default_rng(3)
    tex_a = rng.integers(0, 256, (8, 16, 3), dtype=np.uint8)
    tex_b = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)  # not a power of two
    mats = [Material("wood", (1.0, 0.9, 0.8), tex_a), Material("paint", (0.123, 0.456, 0.789)), Material("tile", (1, 1, 1), tex_b)]
    parts = []
    for k, (oid, mid) in enumerate([(0, 1), (0, 0), (4, 2), (7, 0), (7, 1)]):
        v = rng.normal(size=(6, 3)) + k
        f = np.array([[0, 1, 2], [2, 3, 4], [3, 4, 5], [0, 2, 5]])
        uv = rng.uniform(-1.5, 2.5, size=(6, 2))
        parts.append((v, f, uv, oid, mid))
    verts, faces, uvs, fo, fm = merge_meshes(parts)
    objects = [SceneObject(0, "floor"), SceneObject(4, "sofa", "red", room=1, bbox_min=(0.5, 0, 0.25), bbox_max=(1.5, 0.9, 1.0)),
               SceneObject(7, "table", "brown", room=2, bbox_min=(-1, 0, -1), bbox_max=(0, 0.7, 0)),
               SceneObject(9, "doorway", "", None, (1.0, 0.0, 2.0), (1.9, 2.1, 2.1))]
    rooms = [Room(1, "living room", [(0, 0), (4, 0), (4, 3), (0, 3)]), Room(2, "kitchen", [(4, 0), (6.5, 0), (6.5, 3), (4, 3)])]
    return Scene(verts, faces, fo, fm, uvs, mats, objects, rooms, name="house_00042")


def _per_object_triangles(scene: Scene, oid: int):
    sel = scene.face_object == oid
    tri = scene.vertices[scene.faces[sel]].reshape(-1, 9)
    uv = scene.uvs[scene.faces[sel]].reshape(-1, 6)
    mat = scene.face_material[sel]
    order = np.lexsort(tri.T[::-1])
    return tri[order], uv[order], mat[order]


def test_save_load_round_trip_preserves_everything(tmp_path):
    scene = multi_object_scene()
    path = tmp_path / "out" / "house_00042.glb"
    scene.save(str(path))
    assert path.exists() and sidecar_path(path) == tmp_path / "out" / "house_00042.semantic.json"
    assert json.loads(sidecar_path(path).read_text())["rooms"][0]["type"] == "living room"
    back = load_scene(path)
    assert back.name == "house_00042" and back.num_triangles == scene.num_triangles
    assert back.objects == scene.objects and back.rooms == scene.rooms
    assert [(m.name, m.base_color) for m in back.materials] == [(m.name, m.base_color) for m in scene.materials]
    for a, b in zip(scene.materials, back.materials):
        assert (a.texture is None and b.texture is None) or np.array_equal(a.texture, b.texture)
    for oid in (0, 4, 7):
        t1, uv1, m1 = _per_object_triangles(scene, oid)
        t2, uv2, m2 = _per_object_triangles(back, oid)
        assert np.array_equal(t1, t2)  # float32 positions survive exactly
        assert np.allclose(uv1, uv2, atol=2e-7, rtol=0)  # v -> 1 - v twice: float32 rounding only
        assert np.array_equal(m1, m2)
    # and both render the same
    s = [SensorSpec("rgb", "rgb", 24, 24, 90.0), SensorSpec("sem", "semantic", 24, 24, 90.0)]
    o1 = Renderer(scene).render(s, (0, -2, 8), quat_from_yaw(0))
    o2 = Renderer(back).render(s, (0, -2, 8), quat_from_yaw(0))
    assert np.array_equal(o1["sem"], o2["sem"]) and (o1["sem"] >= 0).sum() > 20
    assert np.abs(o1["rgb"].astype(int) - o2["rgb"].astype(int)).max() <= 1


def test_round_trip_of_habitat_chair(tmp_path):
    chair = load_scene(DATA / "chair.glb")
    save_scene(chair, tmp_path / "chair.glb")
    back = load_scene(tmp_path / "chair.glb")
    assert np.array_equal(back.vertices[back.faces], chair.vertices[chair.faces])
    assert np.array_equal(back.materials[0].texture, chair.materials[0].texture)
    assert back.objects == chair.objects


# ---------------------------------------------------------------------------- bad input
def test_missing_file(tmp_path):
    with pytest.raises(SceneNotFoundError, match="nothere.glb"):
        load_scene(tmp_path / "nothere.glb")


def test_unsupported_extension_lists_supported(tmp_path):
    p = tmp_path / "scene.fbx"
    p.write_bytes(b"whatever")
    with pytest.raises(SceneFileError, match=r"\.fbx.*\.glb"):
        load_scene(p)
    assert ".ply" in SUPPORTED_EXTENSIONS and ".obj" in SUPPORTED_EXTENSIONS
    with pytest.raises(SceneFileError, match="glb"):
        save_scene(multi_object_scene(), tmp_path / "x.obj")


def test_corrupt_and_truncated_glb_name_the_file(tmp_path):
    bad = tmp_path / "garbage.glb"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 4000, dtype=np.uint8).tobytes())
    with pytest.raises(SceneFileError, match="garbage.glb"):
        load_scene(bad)
    data = (DATA / "chair.glb").read_bytes()
    cut = tmp_path / "cut.glb"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(SceneFileError, match="cut.glb"):
        load_scene(cut)


def test_file_without_triangles(tmp_path):
    p = tmp_path / "points.obj"
    p.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    with pytest.raises(SceneFileError, match="no triangles"):
        load_scene(p)


def test_non_finite_vertices_are_rejected(tmp_path):
    p = tmp_path / "nan.obj"
    p.write_text("v 0 0 0\nv nan 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(SceneFileError, match=r"nan\.obj.*not finite"):
        load_scene(p)
    p = tmp_path / "inf.ply"
    p.write_text("ply\nformat ascii 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\n"
                 "element face 1\nproperty list uchar int vertex_indices\nend_header\n0 0 0\ninf 0 0\n0 1 0\n3 0 1 2\n")
    with pytest.raises(SceneFileError, match="not finite"):
        load_scene(p)


def test_bad_up_axis_and_bad_sidecar(tmp_path):
    with pytest.raises(ConfigError, match="up_axis"):
        load_scene(DATA / "chair.glb", up_axis="x")
    scene = multi_object_scene()
    path = tmp_path / "s.glb"
    save_scene(scene, path)
    sidecar_path(path).write_text("{not json")
    with pytest.raises(SceneFileError, match=r"s\.semantic\.json"):
        load_scene(path)


def test_vertex_colour_round_trip(tmp_path):
    (tmp_path / "c.ply").write_text(quad_ply([(250, 0, 0), (0, 250, 0), (0, 0, 250), (90, 90, 90)]))
    scene = load_scene(tmp_path / "c.ply")
    scene.materials[0].base_color = (0.5, 1.0, 1.0)
    save_scene(scene, tmp_path / "c.glb")
    back = load_scene(tmp_path / "c.glb")
    assert np.array_equal(back.vertex_colors[back.faces], scene.vertex_colors[scene.faces])
    assert back.materials[0].base_color == (0.5, 1.0, 1.0)
    a, b = render_checker(scene), render_checker(back)
    assert np.array_equal(a, b)
    # pixel (16, 16) looks at (1/32, -1/32, -1) in triangle 0-1-2: barycentric interpolation
    x, y = 1 / 32, -1 / 32
    w2 = (y + 1) / 2
    w1 = (x + 1) / 2 - w2
    expect = (1 - w1 - w2) * np.array([250, 0, 0]) + w1 * np.array([0, 250, 0]) + w2 * np.array([0, 0, 250])
    assert np.abs(a[16, 16] - expect * [0.5, 1, 1]).max() <= 1
