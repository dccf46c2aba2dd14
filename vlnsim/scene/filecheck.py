"""Checks of a scene file before the mesh parser sees it: the real cause, in one line.

trimesh reports a damaged file with its own internal exception (``struct.error``,
``KeyError: 'scenes'``, a JSON decode error, ...). ``check_scene_file(path)`` looks at
the bytes first and raises ``SceneFileError`` naming the file and what is wrong:

- an empty file;
- a Git LFS pointer file checked out instead of the mesh (``git lfs pull``);
- a GLB whose header is not ``glTF`` version 2, or that is shorter than its header
  says (truncated download/copy), or whose JSON chunk is unreadable;
- a glTF (``.gltf`` or the GLB's JSON) with no scene or nodes to draw, or whose
  external buffer file is missing.

It warns (``warnings.warn``, naming the file) about glTF features the loader does not
support and would silently drop: KTX2/Basis textures (``KHR_texture_basisu``), mesh
compression (``KHR_draco_mesh_compression``, ``EXT_meshopt_compression``), GPU instancing
(``EXT_mesh_gpu_instancing``), and external image files that do not exist. The
returned list of such notes is added to the message if the parser then fails.
"""
from __future__ import annotations

import json
import struct
import warnings
from pathlib import Path
from typing import Any, Dict, List

from ..errors import SceneFileError

LFS_PREFIX = b"version https://git-lfs.github.com/spec"
GLB_MAGIC = b"glTF"
UNSUPPORTED_EXTENSIONS = {
    "KHR_texture_basisu": "KTX2/Basis Universal textures (the surfaces will be untextured)",
    "KHR_draco_mesh_compression": "Draco mesh compression (compressed meshes are not decoded)",
    "EXT_meshopt_compression": "meshoptimizer buffer compression (compressed buffers are not decoded)",
    "EXT_mesh_gpu_instancing": "GPU instancing (only the base instance is loaded)",
}


def _fail(path: Path, what: str) -> None:
    raise SceneFileError(f"scene file {path}: {what}")


def _glb_json(path: Path, raw: bytes) -> Dict[str, Any]:
    if len(raw) < 20 or raw[:4] != GLB_MAGIC:
        _fail(path, f"not a GLB file (starts with {raw[:4]!r}, expected b'glTF')")
    version, length = struct.unpack_from("<II", raw, 4)
    if version != 2:
        _fail(path, f"GLB version {version}; expected glTF 2.0")
    if len(raw) < length:
        _fail(path, f"truncated GLB: the header says {length} bytes, the file has {len(raw)}")
    chunk_len, chunk_type = struct.unpack_from("<I4s", raw, 12)
    if chunk_type != b"JSON" or 20 + chunk_len > len(raw):
        _fail(path, "corrupted GLB: the first chunk is not a complete JSON chunk")
    try:
        return json.loads(raw[20:20 + chunk_len].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(path, f"corrupted GLB: its JSON chunk is unreadable ({exc})")
    raise AssertionError  # unreachable


def _check_gltf(path: Path, doc: Any) -> List[str]:
    if not isinstance(doc, dict):
        _fail(path, "the glTF JSON is not an object")
    if not doc.get("nodes") or not (doc.get("scenes") or doc.get("meshes")):
        _fail(path, "the glTF has no scene or nodes to load (empty 'scenes'/'nodes'); expected at least one mesh node")
    for i, buf in enumerate(doc.get("buffers") or []):
        uri = buf.get("uri") if isinstance(buf, dict) else None
        if uri and not uri.startswith("data:") and not (path.parent / uri).is_file():
            _fail(path, f"buffer {i} refers to the external file {uri!r}, which is missing next to it")
    notes = []
    used = set(doc.get("extensionsUsed") or []) | set(doc.get("extensionsRequired") or [])
    for ext in sorted(used & set(UNSUPPORTED_EXTENSIONS)):
        notes.append(f"uses {ext}: {UNSUPPORTED_EXTENSIONS[ext]}")
    for i, img in enumerate(doc.get("images") or []):
        if not isinstance(img, dict):
            continue
        uri = img.get("uri")
        if img.get("mimeType") == "image/ktx2" or (uri or "").lower().endswith(".ktx2"):
            if not any("KHR_texture_basisu" in n for n in notes):
                notes.append(f"image {i} is a KTX2 texture, which is not supported (the surface will be untextured)")
        elif uri and not uri.startswith("data:") and not (path.parent / uri).is_file():
            notes.append(f"image {i} refers to the external texture {uri!r}, which is missing (untextured)")
    for note in notes:
        warnings.warn(f"scene file {path}: {note}", stacklevel=3)
    return notes


def check_scene_file(path: Path) -> List[str]:
    """Raise ``SceneFileError`` with the real cause for a damaged file; warn about unsupported glTF features.

    Returns the warnings' texts (empty for a clean file or a non-glTF format).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        _fail(path, f"cannot read it ({exc.strerror or exc})")
    if len(raw) == 0:
        _fail(path, "the file is empty (0 bytes)")
    if raw.startswith(LFS_PREFIX):
        _fail(path, "this is a Git LFS pointer file, not the mesh; fetch the real file (git lfs pull)")
    ext = path.suffix.lower()
    if ext == ".glb":
        return _check_gltf(path, _glb_json(path, raw))
    if ext == ".gltf":
        try:
            doc = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            _fail(path, f"not valid glTF JSON ({exc})")
        return _check_gltf(path, doc)
    return []
