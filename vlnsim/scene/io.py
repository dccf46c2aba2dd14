"""Scene files: load glTF/GLB, OBJ and PLY through trimesh; save GLB + semantic sidecar.

Loading flattens the file's scene graph (node transforms applied) into one ``Scene``:
one ``SceneObject`` per mesh node, per-vertex UVs, base-colour textures and factors,
vertex colours. ``up_axis="z"`` rotates +Z-up files so that +Y is up:
``(x, y, z) -> (x, z, -y)``.

Saving writes a GLB with one node per (object id, material) pair, named
``obj_<id>_mat_<index>``, plus ``<stem>.semantic.json`` holding the objects (id,
category, colour, room, bounding box), the rooms (id, type, footprint) and the exact
material table. Loading a GLB that has such a sidecar restores those semantics and
the per-triangle object ids from the node names.

UV convention: trimesh's glTF loader already turns glTF's v-down texture coordinates
into v-up ones (``v' = 1 - v``) and undoes that on export, which is the convention of
``vlnsim.scene.model`` (texel row ``(1 - v) * H``); OBJ ``vt`` are v-up as well.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple, Union

import numpy as np

from ..errors import ConfigError, SceneFileError, SceneNotFoundError
from ..io_utils import atomic_write_bytes, atomic_write_text
from .filecheck import check_scene_file
from .model import Material, Room, Scene, SceneObject

SUPPORTED_EXTENSIONS = (".glb", ".gltf", ".obj", ".ply")
UP_AXES = ("y", "z")
SIDECAR_SUFFIX = ".semantic.json"
SIDECAR_FORMAT = "vlnsim.semantic"
SIDECAR_VERSION = 1
_NODE_NAME = re.compile(r"^obj_(-?\d+)_mat_(\d+)")

PathLike = Union[str, Path]


def sidecar_path(path: PathLike) -> Path:
    """``dir/<stem>.semantic.json`` for a scene file ``dir/<stem>.<ext>``."""
    p = Path(path)
    return p.with_name(p.stem + SIDECAR_SUFFIX)


def _category_from_name(name: str) -> str:
    """A readable category from a node/mesh name: lower case, numeric suffixes dropped."""
    base = re.sub(r"([._\-\s]\d+)+$", "", str(name)).strip().lower()
    return base or "object"


# ---------------------------------------------------------------------------- loading
def _texture_array(image: Any) -> Optional[np.ndarray]:
    """PIL image -> (H, W, 3) uint8 (alpha dropped, palette/greyscale expanded)."""
    if image is None:
        return None
    try:
        arr = np.asarray(image.convert("RGB"), dtype=np.uint8)
    except Exception:  # trimesh may hand us an array already
        arr = np.asarray(image)
        if arr.ndim == 2:
            arr = np.repeat(arr[:, :, None], 3, axis=2)
        arr = arr[:, :, :3].astype(np.uint8)
    return np.ascontiguousarray(arr)


def _color01(c: Any) -> Optional[Tuple[float, float, float]]:
    """An RGB(A) colour as uint8 or float -> floats in [0, 1], or None."""
    if c is None:
        return None
    a = np.asarray(c, dtype=np.float64).reshape(-1)
    if a.size < 3:
        return None
    if np.asarray(c).dtype.kind in "ui" or a[:3].max() > 1.0:
        a = a / 255.0
    return tuple(float(x) for x in np.clip(a[:3], 0.0, 1.0))


def _material_of(visual: Any, fallback_name: str) -> Tuple[str, Tuple[float, float, float], Optional[np.ndarray]]:
    """(name, base colour, texture) of a trimesh TextureVisuals material."""
    mat = getattr(visual, "material", None)
    if mat is None:
        return fallback_name, (0.8, 0.8, 0.8), None
    name = getattr(mat, "name", None) or fallback_name
    tex = _texture_array(getattr(mat, "baseColorTexture", None))
    base = _color01(getattr(mat, "baseColorFactor", None))
    if tex is None:
        tex = _texture_array(getattr(mat, "image", None))  # SimpleMaterial (OBJ/MTL)
    if base is None:
        base = _color01(getattr(mat, "diffuse", None))
        if base is not None and tex is not None:
            base = (1.0, 1.0, 1.0)  # an OBJ map_Kd replaces Kd rather than multiplying it
    if base is None:
        base = (1.0, 1.0, 1.0) if tex is not None else (0.8, 0.8, 0.8)
    return str(name), base, tex


def _read_trimesh(path: Path):
    import trimesh

    notes = check_scene_file(path)  # the real cause of a damaged file, before trimesh's own exception
    try:
        return trimesh.load(str(path), force="scene", process=False)
    except Exception as exc:  # trimesh raises many types for corrupt files
        why = f" (the file {'; '.join(notes)})" if notes else ""
        raise SceneFileError(f"cannot read scene file {path}: {type(exc).__name__}: {exc}{why}") from exc


def _read_sidecar(path: Path) -> Optional[Dict[str, Any]]:
    side = sidecar_path(path)
    if not side.exists():
        return None
    try:
        data = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SceneFileError(f"cannot read semantic sidecar {side}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("objects", []), list) or not isinstance(data.get("rooms", []), list):
        raise SceneFileError(f"semantic sidecar {side}: expected an object with lists 'objects' and 'rooms'")
    return data


def _objects_from_sidecar(data: Dict[str, Any], side: Path) -> Tuple[List[SceneObject], List[Room]]:
    objects, rooms = [], []
    try:
        for o in data.get("objects", []):
            objects.append(SceneObject(
                id=int(o["id"]), category=str(o["category"]), color=str(o.get("color", "")),
                room=None if o.get("room") is None else int(o["room"]),
                bbox_min=tuple(float(x) for x in o.get("bbox_min", (0, 0, 0))),
                bbox_max=tuple(float(x) for x in o.get("bbox_max", (0, 0, 0))),
            ))
        for r in data.get("rooms", []):
            rooms.append(Room(id=int(r["id"]), type=str(r["type"]),
                              polygon=[(float(x), float(z)) for x, z in r.get("polygon", [])]))
    except (KeyError, TypeError, ValueError) as exc:
        raise SceneFileError(f"semantic sidecar {side}: malformed object or room entry ({type(exc).__name__}: {exc})") from exc
    return objects, rooms


def _node_geometry(mesh, transform: np.ndarray, up_axis: str, path: Path, node: str):
    """World-space (vertices, faces, uvs, vertex colours or None) of one mesh node."""
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int64)
    visual = mesh.visual
    uv = getattr(visual, "uv", None)
    vc = None
    if visual.kind == "face":
        # per-face colours: give every face its own three vertices
        fc = np.asarray(visual.face_colors)[:, :3]
        v = v[f.reshape(-1)]
        uv = None if uv is None else np.asarray(uv)[f.reshape(-1)]
        vc = np.repeat(fc, 3, axis=0)
        f = np.arange(len(v)).reshape(-1, 3)
    elif visual.kind == "vertex":
        vc = np.asarray(visual.vertex_colors)[:, :3]
    elif visual.kind == "texture" and getattr(getattr(visual, "material", None), "baseColorTexture", None) is None:
        # glTF COLOR_0 next to a material lands in vertex_attributes; it multiplies the
        # base colour, which is what the renderer does with vertex colours
        col = getattr(visual, "vertex_attributes", {}).get("color")
        if col is not None and len(col) == len(v):
            col = np.asarray(col)
            if col.dtype.kind == "f":
                col = np.clip(np.rint(col * 255.0), 0, 255)
            elif col.dtype.itemsize > 1:
                col = col // 257  # 16-bit normalised
            vc = col[:, :3].astype(np.uint8)
    if uv is None or len(uv) != len(v):
        uv = np.zeros((len(v), 2))
    with np.errstate(invalid="ignore", over="ignore"):
        v = v @ np.asarray(transform)[:3, :3].T + np.asarray(transform)[:3, 3]
    if up_axis == "z":
        v = np.stack([v[:, 0], v[:, 2], -v[:, 1]], axis=1)
    if not np.all(np.isfinite(v)):
        bad = int(np.argwhere(~np.isfinite(v).all(axis=1))[0, 0])
        raise SceneFileError(f"{path}: node {node!r} vertex {bad} is not finite ({v[bad].tolist()}); expected finite coordinates")
    return v, f, uv, vc


def load_scene(path: PathLike, up_axis: str = "y") -> Scene:
    """Load a glTF/GLB, OBJ or PLY file (plus its ``.semantic.json`` sidecar if present)."""
    if up_axis not in UP_AXES:
        raise ConfigError(f"up_axis={up_axis!r}; expected one of {UP_AXES}")
    path = Path(path)
    if not path.exists():
        raise SceneNotFoundError(f"scene file not found: {path}")
    if path.is_dir():
        raise SceneFileError(f"scene path {path} is a directory; expected a file with one of {SUPPORTED_EXTENSIONS}")
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        raise SceneFileError(f"unsupported scene file extension {ext!r} for {path}; expected one of {SUPPORTED_EXTENSIONS}")

    tscene = _read_trimesh(path)
    sidecar = _read_sidecar(path) if ext in (".glb", ".gltf") else None
    side_mats = sidecar.get("materials") if sidecar else None

    import trimesh

    verts_l, faces_l, uvs_l, vc_l, fobj_l, fmat_l = [], [], [], [], [], []
    extra_mats: List[Material] = []
    mat_index: Dict[Any, int] = {}
    side_slots: List[Optional[Material]] = [None] * (len(side_mats) if side_mats else 0)
    node_objects: List[SceneObject] = []
    any_vc = False
    offset = 0
    next_id = 0
    side_ids = {int(o["id"]) for o in sidecar.get("objects", []) if "id" in o} if sidecar else set()
    if side_ids:
        next_id = max(side_ids) + 1
    for node in tscene.graph.nodes_geometry:
        transform, geom_name = tscene.graph[node]
        mesh = tscene.geometry.get(geom_name)
        if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
            continue
        v, f, uv, vc = _node_geometry(mesh, transform, up_axis, path, node)
        visual = mesh.visual

        m = _NODE_NAME.match(str(node)) if sidecar is not None else None
        if m is not None:
            oid, mid = int(m.group(1)), int(m.group(2))
        else:
            oid, mid = next_id, -1
            next_id += 1
            node_objects.append(SceneObject(oid, _category_from_name(node), bbox_min=tuple(float(x) for x in v.min(0)),
                                            bbox_max=tuple(float(x) for x in v.max(0))))
        name, base, tex = _material_of(visual, f"{geom_name}_material")
        if visual.kind in ("face", "vertex"):
            name, base, tex = f"{geom_name}_colors", (1.0, 1.0, 1.0), None
        if mid >= 0 and side_mats and mid < len(side_mats):
            # the sidecar holds the exact material table (the GLB rounds factors to 8 bits)
            if side_slots[mid] is None:
                sm = side_mats[mid]
                side_slots[mid] = Material(
                    name=str(sm.get("name", name)),
                    base_color=tuple(float(x) for x in sm.get("base_color", base)),
                    texture=tex if sm.get("textured", tex is not None) else None,
                )
            mat_id = mid
        else:
            key = ("mat", id(getattr(visual, "material", None))) if visual.kind == "texture" else ("name", name)
            if key not in mat_index:
                mat_index[key] = len(extra_mats)
                extra_mats.append(Material(name=name, base_color=base, texture=tex))
            mat_id = -1 - mat_index[key]  # resolved after all nodes are read
        verts_l.append(v)
        faces_l.append(f + offset)
        uvs_l.append(np.asarray(uv, dtype=np.float64)[:, :2])
        vc_l.append(vc)
        any_vc = any_vc or vc is not None
        fobj_l.append(np.full(len(f), oid, dtype=np.int32))
        fmat_l.append(np.full(len(f), mat_id, dtype=np.int32))
        offset += len(v)

    if not faces_l:
        raise SceneFileError(f"scene file {path} has no triangles; expected at least one triangle mesh")
    vertices = np.concatenate(verts_l).astype(np.float32)
    materials = [
        m if m is not None else Material(str(sm.get("name", f"material_{k}")), tuple(float(x) for x in sm.get("base_color", (0.8, 0.8, 0.8))))
        for k, (m, sm) in enumerate(zip(side_slots, side_mats or []))
    ]
    face_material = np.concatenate(fmat_l)
    # node materials not in the sidecar go after the sidecar's table
    face_material = np.where(face_material < 0, len(materials) - 1 - face_material, face_material).astype(np.int32)
    materials += extra_mats
    vertex_colors = None
    if any_vc:
        vertex_colors = np.concatenate([
            np.asarray(c, dtype=np.uint8) if c is not None else np.full((len(vv), 3), 255, np.uint8)
            for c, vv in zip(vc_l, verts_l)
        ])
    if sidecar is not None:
        objects, rooms = _objects_from_sidecar(sidecar, sidecar_path(path))
        objects = objects + node_objects
    else:
        objects, rooms = node_objects, []
    scene = Scene(
        vertices=vertices,
        faces=np.concatenate(faces_l).astype(np.int32),
        face_object=np.concatenate(fobj_l),
        face_material=face_material,
        uvs=np.concatenate(uvs_l).astype(np.float32),
        materials=materials,
        objects=objects,
        rooms=rooms,
        vertex_colors=vertex_colors,
        name=str(sidecar.get("scene", path.stem)) if sidecar else path.stem,
    )
    return scene


# ---------------------------------------------------------------------------- saving
def _sidecar_dict(scene: Scene) -> Dict[str, Any]:
    return {
        "format": SIDECAR_FORMAT,
        "version": SIDECAR_VERSION,
        "scene": scene.name,
        "objects": [
            {"id": int(o.id), "category": o.category, "color": o.color, "room": None if o.room is None else int(o.room),
             "bbox_min": [float(x) for x in o.bbox_min], "bbox_max": [float(x) for x in o.bbox_max]}
            for o in scene.objects
        ],
        "rooms": [{"id": int(r.id), "type": r.type, "polygon": [[float(x), float(z)] for x, z in r.polygon]}
                  for r in scene.rooms],
        "materials": [{"name": m.name, "base_color": [float(c) for c in m.base_color], "textured": m.texture is not None}
                      for m in scene.materials],
    }


def scene_to_glb_bytes(scene: Scene) -> bytes:
    """The GLB encoding of ``scene`` (one node per (object id, material) pair)."""
    import trimesh
    from PIL import Image

    tscene = trimesh.Scene()
    images: Dict[int, Any] = {}
    keys = np.stack([scene.face_object.astype(np.int64), scene.face_material.astype(np.int64)], axis=1)
    order = np.lexsort((keys[:, 1], keys[:, 0]))
    sorted_keys = keys[order]
    starts = np.flatnonzero(np.r_[True, np.any(sorted_keys[1:] != sorted_keys[:-1], axis=1)])
    ends = np.r_[starts[1:], len(order)]
    for s, e in zip(starts, ends):
        oid, mid = (int(x) for x in sorted_keys[s])
        fidx = order[s:e]
        tri = scene.faces[fidx]
        used, inv = np.unique(tri.reshape(-1), return_inverse=True)
        faces = inv.reshape(-1, 3)
        mat = scene.materials[mid]
        color = np.clip(np.rint(np.asarray(mat.base_color) * 255), 0, 255).astype(np.uint8)
        rgba = np.r_[color, 255].astype(np.uint8)
        if mat.texture is None and scene.vertex_colors is not None:
            # raw colours: the base colour they are multiplied by travels in the sidecar
            cols = scene.vertex_colors[used]
            visual = trimesh.visual.ColorVisuals(vertex_colors=np.c_[cols, np.full(len(used), 255)].astype(np.uint8))
        else:
            if mat.texture is not None and mid not in images:
                images[mid] = Image.fromarray(np.ascontiguousarray(mat.texture[:, :, :3]), "RGB")
            pbr = trimesh.visual.material.PBRMaterial(
                name=mat.name, baseColorFactor=rgba, baseColorTexture=images.get(mid),
                metallicFactor=0.0, roughnessFactor=1.0)
            visual = trimesh.visual.TextureVisuals(uv=scene.uvs[used].astype(np.float64), material=pbr)
        mesh = trimesh.Trimesh(vertices=scene.vertices[used].astype(np.float64), faces=faces, visual=visual, process=False)
        name = f"obj_{oid}_mat_{mid}"
        tscene.add_geometry(mesh, node_name=name, geom_name=name)
    return tscene.export(file_type="glb")


def save_scene(scene: Scene, path: PathLike, overwrite: bool = True) -> None:
    """Write ``scene`` as GLB to ``path`` plus ``<stem>.semantic.json`` beside it (atomically).

    ``overwrite=False``: an existing file with the same content is left as it is, and
    one with different content (another dataset's house of the same name) is never
    replaced: ``SceneFileError`` naming the file.
    """
    path = Path(path)
    if path.suffix.lower() != ".glb":
        raise SceneFileError(f"cannot save scene to {path}: unsupported extension {path.suffix!r}; expected '.glb'")
    data = scene_to_glb_bytes(scene)
    side = json.dumps(_sidecar_dict(scene), indent=1)
    if not overwrite and (path.exists() or sidecar_path(path).exists()):
        try:
            same = path.read_bytes() == data and sidecar_path(path).read_text(encoding="utf-8") == side
        except (OSError, UnicodeDecodeError):
            same = False
        if same:
            return
        raise SceneFileError(f"refusing to overwrite {path}: it holds a different scene of the same name "
                             "(from another dataset or other generation options); use another --data-root or --seed")
    atomic_write_bytes(path, data)
    atomic_write_text(sidecar_path(path), side)
