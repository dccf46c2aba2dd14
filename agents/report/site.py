"""``build_report``: write the static HTML report of evaluations and training runs.

Layout of the output directory::

    index.html                      summary table, provenance, learning curves, notes
    episodes.html                   the episode browser (filters: agent, success, house, length)
    episodes/<agent>/<id>.html      one page per evaluated episode, with <id>.png (the map)
    curves/<tag>.svg                one chart per TensorBoard scalar tag (a line per run)
    videos/<agent>/<file>.mp4       copies of the matching rollout videos
    static/report.css, report.js    the only assets; nothing is fetched from the network

Pages link with relative paths, so the directory opens from the file system and can
be copied or zipped whole.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

from vlnsim.errors import ConfigError
from vlnsim.io_utils import atomic_write_text

from . import episode_view as ev
from .curves import group_of, line_chart_svg, order_tags, read_scalars
from .maps import AGENT_PATH, GOAL, REFERENCE, START, EpisodeMaps, save_png
from .sources import METRIC_KEYS, PROVENANCE_KEYS, EvalRun, Sources, find_sources, slugify, videos_for

PACKAGE_DIR = Path(__file__).resolve().parent
METRIC_LABELS = {"sr": "SR", "spl": "SPL", "ndtw": "nDTW", "sdtw": "SDTW", "cls": "CLS", "ne": "NE", "osr": "OSR", "tl": "TL"}
METRIC_HELP = {
    "sr": "success rate: stopped within 3 m of the goal", "spl": "success weighted by path length",
    "ndtw": "normalised dynamic time warping to the reference path", "sdtw": "success-weighted nDTW",
    "cls": "coverage weighted by length score", "ne": "navigation error: final geodesic distance to the goal (m)",
    "osr": "oracle success rate: came within 3 m at some step", "tl": "trajectory length (m)",
}
LOWER_IS_BETTER = {"ne"}
CHART_SIZE = (380, 230)


def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

    return Environment(loader=FileSystemLoader(str(PACKAGE_DIR / "templates")),
                       autoescape=select_autoescape(["html", "j2"]), undefined=StrictUndefined,
                       trim_blocks=True, lstrip_blocks=True)


def _rgb(c) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in c[:3])


def _summary_rows(evals: List[EvalRun]) -> List[Dict[str, Any]]:
    rows = []
    for e in evals:
        prov_text, prov_full = {}, {}
        for k in PROVENANCE_KEYS:
            v = e.provenance.get(k)
            full = "" if v is None else str(v)
            prov_full[k] = full if "/" in full else ""
            prov_text[k] = Path(full).name if "/" in full and k in ("checkpoint", "config") else full
        rows.append({"name": e.name, "slug": e.slug, "path": str(e.path), "ablate": e.provenance.get("ablate") or "",
                     "shown": {k: ev.fmt(e.metrics.get(k)) for k in METRIC_KEYS},
                     "sort": {k: ev.sort_value(e.metrics.get(k)) for k in METRIC_KEYS},
                     "n_episodes": int(e.metrics.get("episodes", len(e.episodes))),
                     "prov_text": prov_text, "prov_full": prov_full, "best": {}})
    for k in METRIC_KEYS:  # bold the best value of each column when there is a comparison
        vals = [float(e.metrics[k]) for e in evals if isinstance(e.metrics.get(k), (int, float))]
        if len(vals) < 2:
            continue
        best = min(vals) if k in LOWER_IS_BETTER else max(vals)
        for r, e in zip(rows, evals):
            r["best"][k] = e.metrics.get(k) == best
    return rows


def _curves(src: Sources, out: Path) -> List:
    """Write the SVG charts; returns [(group, [chart, ...]), ...] in display order.

    One chart per scalar tag with a line per run, except that a group's ``sr`` and
    ``spl`` (validation success rate and SPL, same 0..1 scale) share one chart.
    """
    per_run = {r.name: read_scalars(r.event_files) for r in src.runs}
    tags = order_tags({t for s in per_run.values() for t in s})
    groups: Dict[str, List[Dict[str, Any]]] = {}

    def chart(title: str, series: Dict[str, Any], name: str, rates: bool = False) -> None:
        rel = f"curves/{slugify(name.replace('/', '__'))}.svg"
        atomic_write_text(out / rel, line_chart_svg(title, series, *CHART_SIZE, y_from_zero=rates))
        groups.setdefault(group_of(name), []).append({"tag": title, "file": rel, "width": CHART_SIZE[0], "height": CHART_SIZE[1]})

    done = set()
    for tag in tags:
        if tag in done:
            continue
        g = group_of(tag)
        pair = [f"{g}/sr", f"{g}/spl"]
        if tag in pair and all(t in tags for t in pair):
            series = {f"{run} {t.split('/')[-1].upper()}".strip(): s[t]
                      for t in pair for run, s in per_run.items() if t in s}
            if len(per_run) == 1:
                series = {k.split()[-1]: v for k, v in series.items()}
            chart(f"{g}: SR and SPL", series, f"{g}/sr_spl", rates=True)
            done.update(pair)
            continue
        series = {name: s[tag] for name, s in per_run.items() if tag in s}
        if len(series) == 1:
            series = {"": next(iter(series.values()))}
        chart(tag, series, tag)
    return list(groups.items())


def _recorded_root(e: EvalRun) -> str:
    """The data root an evaluation recorded, when it exists from here; else ``data``."""
    recorded = e.provenance.get("data_root")
    return str(recorded) if recorded and Path(str(recorded)).is_dir() else "data"


def _copy(src_file: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    if not dest.exists() or dest.stat().st_size != src_file.stat().st_size:
        tmp = dest.with_name(dest.name + ".tmp")
        shutil.copyfile(src_file, tmp)
        tmp.replace(dest)


def _poster(video: Path, root: Path) -> Optional[str]:
    """A JPEG of the video's first frame next to it (shown before playing); its path
    relative to the report root, or None when the video cannot be decoded."""
    poster = video.with_suffix(".jpg")
    if not poster.is_file():
        try:
            import imageio.v3 as iio
            from PIL import Image

            frame = iio.imread(video, index=0)
            tmp = poster.with_name(poster.name + ".tmp")
            Image.fromarray(frame).convert("RGB").save(tmp, format="JPEG", quality=85)
            tmp.replace(poster)
        except Exception:  # a missing codec only costs the preview image
            return None
    return poster.relative_to(root).as_posix()


def _clear_previous(out: Path) -> None:
    """Remove the generated folders of an earlier report in ``out`` (only when it is one)."""
    index = out / "index.html"
    if index.is_file() and 'content="vlnsim report"' in index.read_text(encoding="utf-8", errors="replace")[:2000]:
        for sub in ("episodes", "curves", "videos"):
            shutil.rmtree(out / sub, ignore_errors=True)


class _EpisodePages:
    """Builds the browser rows and episode pages of the evaluations, one evaluation at a time."""

    def __init__(self, out: Path, data_root, dataset, split, max_episodes, meters_per_pixel, rollouts):
        self.out, self.data_root, self.dataset, self.split = out, data_root, dataset, split
        self.max_episodes, self.meters_per_pixel, self.rollouts = max_episodes, meters_per_pixel, rollouts
        self.maps: Dict[str, EpisodeMaps] = {}
        self.rows: List[Dict[str, Any]] = []
        self.pages: List[Dict[str, Any]] = []
        self.by_episode: Dict[tuple, List[Dict[str, Any]]] = {}
        self.used_videos: set = set()
        self.problems: List[str] = []

    def add(self, e: EvalRun) -> None:
        """Draw the maps and collect the rows and pages of one evaluation."""
        root = str(self.data_root if self.data_root is not None else _recorded_root(e))
        maps = self.maps.setdefault(root, EpisodeMaps(root, self.meters_per_pixel))
        ds_name, ds_split = e.provenance.get("dataset") or self.dataset, e.provenance.get("split") or self.split
        if not ds_name or not ds_split:
            self.problems.append(f"{e.name}: dataset/split not recorded in metrics.json and not given "
                                 "(--dataset/--split): episode pages have no instructions or reference paths")
        episodes = maps.episodes(ds_name, ds_split)
        videos = videos_for(e, self.rollouts)
        records = sorted(e.episodes, key=lambda r: ev.episode_sort_key(r["episode_id"]))[: self.max_episodes]
        pages = []
        for rec in records:
            eid = str(rec["episode_id"])
            ep = episodes.get(eid) if episodes else None
            text = ep.instruction.instruction_text if ep is not None and ep.instruction is not None else None
            mean, top = ev.attention_summary(rec, ev.token_count(text))
            metrics = rec.get("metrics") or {}
            base = f"episodes/{e.slug}/{slugify(eid)}"
            w, h = save_png(maps.draw(rec, ep), self.out / f"{base}.png")
            video = videos.get(eid)
            video_rel = f"videos/{e.slug}/{video.video.name}" if video is not None else None
            poster_rel = None
            if video is not None:
                _copy(video.video, self.out / video_rel)
                self.used_videos.add(video.video)
                poster_rel = _poster(self.out / video_rel, self.out)
            row = {"agent": e.name, "agent_slug": e.slug, "episode_id": eid, "sort_id": ev.episode_sort_text(eid),
                   "house": ev.house_of(rec.get("scene_id", "")), "success": ev.is_success(metrics),
                   "shown": {k: ev.fmt(metrics.get(k)) for k, _ in ev.EPISODE_METRICS},
                   "sort": {k: ev.sort_value(metrics.get(k)) for k, _ in ev.EPISODE_METRICS},
                   "steps": len(rec.get("actions") or []), "words": len(text.split()) if text else -1,
                   "instruction": text or "",
                   "page": f"{base}.html", "video": video_rel}
            self.rows.append(row)
            page = {"agent": e.name, "agent_slug": e.slug, "episode_id": eid, "success": row["success"],
                    "house": row["house"], "scene_id": rec.get("scene_id", "?"), "split": ds_split, "dataset": ds_name,
                    "map": f"{slugify(eid)}.png", "map_w": w, "map_h": h,
                    "words": ev.instruction_words(text, mean), "has_attention": mean is not None,
                    "instruction_note": "no dataset episode file" if episodes is None else "episode not in the dataset file",
                    "metrics": ev.metric_rows(metrics), "steps": ev.steps_table(rec, text, top),
                    "action_runs": ev.action_runs(rec.get("actions") or []),
                    "video": f"../../{video_rel}" if video_rel else None,
                    "poster": f"../../{poster_rel}" if poster_rel else None,
                    "video_name": video.video.name if video else "", "file": self.out / f"{base}.html",
                    "page": f"{base}.html", "prev": None, "next": None, "others": []}
            pages.append(page)
            self.by_episode.setdefault((ds_name, ds_split, eid), []).append(page)
        for a, b in zip(pages, pages[1:]):
            a["next"], b["prev"] = Path(b["page"]).name, Path(a["page"]).name
        self.pages.extend(pages)

    def write(self, env, common: Dict[str, Any], colors: Dict[str, str]) -> None:
        """Link each episode to the other agents' pages of it, and write every page."""
        for same in self.by_episode.values():
            for p in same:
                p["others"] = [{"agent": o["agent"], "success": o["success"], "page": f"../../{o['page']}"}
                               for o in same if o is not p]
        tpl = env.get_template("episode.html.j2")
        for p in self.pages:
            atomic_write_text(p["file"], tpl.render(root="../../", ep=p, colors=colors, **common))
        for m in self.maps.values():
            self.problems.extend(x for x in m.problems if x not in self.problems)


def build_report(paths: Sequence, out, data_root=None, dataset: Optional[str] = None, split: Optional[str] = None,
                 title: str = "vlnsim evaluation report", max_episodes: Optional[int] = None,
                 meters_per_pixel: float = 0.03, progress: bool = False) -> Path:
    """Write the report for the runs and evaluations under ``paths`` into ``out``; returns index.html.

    Args:
        paths: evaluation directories, training run directories, or folders holding them.
        out: output directory (created; the generated folders of an earlier report there are replaced).
        data_root: where the evaluated datasets and scenes are (for maps and instructions);
            None: the ``data_root`` each evaluation recorded when that directory exists, else ``data``.
        dataset, split: used for evaluations whose ``metrics.json`` does not record them.
        max_episodes: at most this many episode pages per evaluation (None: all).
        meters_per_pixel: map resolution.
    """
    src = find_sources(paths)
    if not src.evals and not src.runs:
        raise ConfigError(f"no evaluations (metrics.json + episodes.jsonl) or TensorBoard event files under "
                          f"{[str(p) for p in paths]}; expected `vlnsim eval --out` or `vlnsim train --run-dir` directories")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    _clear_previous(out)
    for name in ("report.css", "report.js"):
        _copy(PACKAGE_DIR / "static" / name, out / "static" / name)
    env = _environment()
    common = {"title": title, "created": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
              "has_curves": bool(src.runs)}
    curves = _curves(src, out) if src.runs else []
    episodes = _EpisodePages(out, data_root, dataset, split, max_episodes, meters_per_pixel, src.rollouts)
    for e in src.evals:
        episodes.add(e)
    colors = {"reference": _rgb(REFERENCE), "agent": _rgb(AGENT_PATH), "goal": _rgb(GOAL), "start": _rgb(START)}
    episodes.write(env, common, colors)

    loose = [{"file": f"videos/other/{r.group}/{r.video.name}", "label": f"{r.group}: {r.video.name}", "src": r.video}
             for r in src.rollouts if r.video not in episodes.used_videos]
    for v in loose:
        _copy(v["src"], out / v["file"])
    summary = _summary_rows(src.evals)
    atomic_write_text(out / "episodes.html", env.get_template("episodes.html.j2").render(
        root="", evals=summary, rows=episodes.rows, houses=sorted({r["house"] for r in episodes.rows}),
        episode_metric_keys=[k for k, _ in ev.EPISODE_METRICS], episode_metric_labels=dict(ev.EPISODE_METRICS), **common))
    index = out / "index.html"
    atomic_write_text(index, env.get_template("index.html.j2").render(
        root="", evals=summary, metric_keys=METRIC_KEYS, metric_labels=METRIC_LABELS, metric_help=METRIC_HELP,
        provenance_keys=PROVENANCE_KEYS, missing_provenance=any(not all(r["prov_text"].values()) for r in summary),
        curves=curves, runs=src.runs, loose_videos=loose, problems=episodes.problems, **common))
    if progress:
        print(f"report: {len(src.evals)} evaluations, {len(episodes.pages)} episode pages, {len(src.runs)} training runs, "
              f"{sum(len(c) for _, c in curves)} charts -> {index}")
    return index
