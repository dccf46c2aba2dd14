"""`vlnsim report`: the static HTML site built from real `vlnsim eval` outputs.

The default tests parse the written HTML (structure, tables, every linked file) and
compare what it shows with the inputs (metrics.json, episodes.jsonl, the dataset's
instructions, the logged TensorBoard scalars). The slow test opens the site in
headless Chromium.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import numpy as np
import pytest

SPLIT = "val_unseen"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
LINK_ATTRS = {"a": "href", "img": "src", "link": "href", "script": "src", "video": "src", "source": "src"}
TB_SCALARS = {"losses/total": [(1, 2.0), (2, 1.5), (5, 0.7)], "charts/beta": [(1, 1.0), (2, 0.75), (3, 0.5), (4, 0.25)],
              "eval/sr": [(2, 0.1), (5, 0.4)], "eval/spl": [(2, 0.05), (5, 0.3)]}


class Page(HTMLParser):
    """Parses one page: checks tag nesting, collects links, tables and element text by class."""

    def __init__(self, path: Path):
        super().__init__(convert_charrefs=True)
        self.path = path
        self.stack: list = []
        self.errors: list = []
        self.links: list = []
        self.tables: dict = {}
        self._table = None
        self._row = None
        self._cell = None
        self.by_class: dict = {}
        self._capture: list = []
        self.styled: list = []  # (text, style) of span.w elements
        self.doctype = False
        self.options: list = []
        self.feed(path.read_text(encoding="utf-8"))
        self.close()
        if self.stack:
            self.errors.append(f"unclosed tags {self.stack}")

    def handle_decl(self, decl):
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in LINK_ATTRS and a.get(LINK_ATTRS[tag]):
            self.links.append(a[LINK_ATTRS[tag]])
        if tag == "video" and a.get("poster"):
            self.links.append(a["poster"])
        if tag == "option":
            self.options.append(a.get("value"))
        if tag == "table":
            self._table = a.get("id") or f"table{len(self.tables)}"
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self._row = {"attrs": a, "cells": []}
            self.tables[self._table].append(self._row)
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        for c in (a.get("class") or "").split():
            self._capture.append([c, tag, [], a])
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row["cells"].append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "table":
            self._table = None
        while self._capture and self._capture[-1][1] == tag:
            c, _, text, attrs = self._capture.pop()
            t = " ".join("".join(text).split())
            self.by_class.setdefault(c, []).append(t)
            if c == "w":
                self.styled.append((t, attrs.get("style", "")))
            if self._capture:  # text also belongs to enclosing captured elements
                self._capture[-1][2].append(" " + "".join(text) + " ")
            if not self._capture or self._capture[-1][1] != tag:
                break

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)
        if self._capture:
            self._capture[-1][2].append(data)

    def rows(self, table):
        """Body rows (those with td cells) of a table."""
        return [r for r in self.tables[table] if r["cells"] and r is not self.tables[table][0]]

    def local_targets(self):
        """Files the page's relative links point at."""
        out = []
        for link in self.links:
            u = urlsplit(link)
            if u.scheme or u.netloc:
                continue
            if u.path:
                out.append((self.path.parent / unquote(u.path)).resolve())
        return out


@pytest.fixture(scope="module")
def site(tmp_path_factory, tiny_dataset):
    """Real evaluations (expert, forward-only), a training run's event file, a rollout, and the report."""
    from torch.utils.tensorboard import SummaryWriter

    from agents.report import build_report
    from vlnsim.cli import main

    data, DATASET = tiny_dataset.root, tiny_dataset.name
    root = tmp_path_factory.mktemp("report_inputs")
    for agent in ("expert", "forward-only"):
        assert main(["eval", "--agent", agent, "--split", SPLIT, "--out", str(root / "eval" / agent), "--data-root",
                     str(data), "--dataset", DATASET, "--episodes", "3", "--width", "16", "--height", "16",
                     "--no-progress"]) == 0
    # an attending agent with its provenance: the forward-only records plus attention fields
    attn = root / "eval" / "attn"
    shutil.copytree(root / "eval" / "forward-only", attn)
    m = json.loads((attn / "metrics.json").read_text())
    m.update(checkpoint="/runs/x/checkpoints/ckpt_0003", config="configs/il_cma_demo_cpu.yaml",
             dataset=DATASET, split=SPLIT, seed=7)
    (attn / "metrics.json").write_text(json.dumps(m))
    recs = [json.loads(l) for l in (attn / "episodes.jsonl").read_text().splitlines()]
    for r in recs:
        r["attention_mean"] = [0.01, 0.02, 0.9, 0.05]
        r["attention_top"] = [[2, 3, 1]] * len(r["actions"])
    (attn / "episodes.jsonl").write_text("".join(json.dumps(r) + "\n" for r in recs))
    # a training run
    w = SummaryWriter(str(root / "train" / "tb"))
    for tag, series in TB_SCALARS.items():
        for step, v in series:
            w.add_scalar(tag, v, step)
    w.close()
    # a rollout video of an evaluated expert episode, and one of an episode not evaluated
    import imageio.v3 as iio

    expert_ids = [json.loads(l)["episode_id"] for l in (root / "eval" / "expert" / "episodes.jsonl").read_text().splitlines()]
    vdir = root / "videos" / "expert"
    vdir.mkdir(parents=True)
    frames = np.zeros((4, 32, 32, 3), np.uint8)
    rolls = []
    for eid in (expert_ids[0], "not_evaluated"):
        f = vdir / f"{SPLIT}_ep{eid}_expert.mp4"
        iio.imwrite(f, frames, fps=4, codec="libx264", macro_block_size=1)
        rolls.append({"episode_id": eid, "scene_id": "x", "steps": 3, "metrics": {"success": 1.0}, "video": f"somewhere/else/{f.name}"})
    (vdir / "rollouts_expert.json").write_text(json.dumps(rolls))
    out = root / "site"
    index = build_report([root / "eval", root / "train", root / "videos"], out, data_root=data, dataset=DATASET, split=SPLIT)
    return {"root": root, "data": data, "out": out, "index": index, "expert_ids": expert_ids, "dataset": DATASET}


def test_every_page_is_well_formed_and_every_link_exists(site):
    pages = sorted(site["out"].rglob("*.html"))
    n_records = sum(len((site["root"] / "eval" / a / "episodes.jsonl").read_text().splitlines())
                    for a in ("expert", "forward-only", "attn"))
    assert len(pages) == 2 + n_records  # index, browser, one page per evaluated episode
    for p in pages:
        page = Page(p)
        assert page.doctype, p
        assert not page.errors, (p, page.errors[:5])
        for target in page.local_targets():
            assert target.is_file(), f"{p.relative_to(site['out'])} links to missing {target}"
        assert not [l for l in page.links if urlsplit(l).scheme in ("http", "https")], "the report must not fetch anything"


def test_summary_table_shows_each_evaluation_metrics_and_provenance(site):
    DATASET = site["dataset"]
    page = Page(site["index"])
    rows = page.rows("summary-table")
    header = page.tables["summary-table"][0]["cells"]
    assert header[:10] == ["agent", "SR", "SPL", "nDTW", "SDTW", "CLS", "NE", "OSR", "TL", "episodes"]
    assert header[10:] == ["checkpoint", "config", "dataset", "split", "seed"]
    by_name = {r["cells"][0].split()[0]: r["cells"] for r in rows}
    assert set(by_name) == {"expert", "forward-only", "attn"}
    for name, cells in by_name.items():
        m = json.loads((site["root"] / "eval" / name / "metrics.json").read_text())
        for i, k in enumerate(("sr", "spl", "ndtw", "sdtw", "cls", "ne", "osr", "tl"), 1):
            assert cells[i] == f"{m[k]:.3f}", (name, k)
        assert cells[9] == str(m["episodes"])
        if "checkpoint" not in m:
            assert cells[10] == "—"  # provenance absent: shown as not recorded
    assert by_name["attn"][10:] == ["ckpt_0003", "il_cma_demo_cpu.yaml", DATASET, SPLIT, "7"]


def _polylines(f):
    ns = "{http://www.w3.org/2000/svg}"
    svg = ET.parse(f).getroot()
    return svg, [[tuple(map(float, p.split(","))) for p in l.get("points").split()] for l in svg.iter(f"{ns}polyline")]


def test_learning_curves_are_svg_images_of_the_logged_scalars(site):
    page = Page(site["index"])
    svgs = [l for l in page.links if l.endswith(".svg")]
    # one chart per tag, except validation SR and SPL which share one; validation comes first
    assert svgs == ["curves/eval__sr_spl.svg", "curves/losses__total.svg", "curves/charts__beta.svg"]
    for tag in ("losses/total", "charts/beta"):
        series = TB_SCALARS[tag]
        svg, lines = _polylines(site["out"] / "curves" / (tag.replace("/", "__") + ".svg"))
        assert len(lines) == 1 and len(lines[0]) == len(series)
        assert len(svg.findall("{http://www.w3.org/2000/svg}circle")) == len(series)
        # x follows the step, and SVG y grows downwards: heights order like the values
        xs, ys = zip(*lines[0])
        assert list(xs) == sorted(xs)
        assert np.argsort(ys, kind="stable").tolist() == np.argsort([-v for _, v in series], kind="stable").tolist()
    svg, lines = _polylines(site["out"] / "curves" / "eval__sr_spl.svg")
    assert len(lines) == 2
    texts = [t.text for t in svg.iter("{http://www.w3.org/2000/svg}text")]
    assert "SR" in texts and "SPL" in texts
    # same steps, SR above SPL at each step (SR >= SPL in the logged values)
    assert [x for x, _ in lines[0]] == [x for x, _ in lines[1]]
    assert all(a[1] <= b[1] for a, b in zip(lines[0], lines[1]))


def test_episode_browser_lists_every_episode_with_its_filter_fields(site):
    DATASET = site["dataset"]
    page = Page(site["out"] / "episodes.html")
    rows = page.rows("episode-table")
    expected = {}
    for agent in ("expert", "forward-only", "attn"):
        for line in (site["root"] / "eval" / agent / "episodes.jsonl").read_text().splitlines():
            r = json.loads(line)
            expected[(agent, r["episode_id"])] = r
    assert len(rows) == len(expected)
    from vlnsim.episodes import load

    ds = {str(e.episode_id): e for e in load(site["data"] / "datasets" / DATASET / "v1" / SPLIT / f"{SPLIT}.json.gz").episodes}
    for row in rows:
        agent, eid = row["attrs"]["data-agent"], row["cells"][1]
        rec = expected[(agent, eid)]
        assert row["attrs"]["data-success"] == str(int(rec["metrics"]["success"] >= 0.5))
        assert row["attrs"]["data-house"] == Path(rec["scene_id"]).stem
        assert row["attrs"]["data-len"] == str(len(ds[eid].instruction.instruction_text.split()))
    # the filter form offers every house and agent of the table
    assert {r["attrs"]["data-house"] for r in rows} | {r["attrs"]["data-agent"] for r in rows} <= set(page.options)


def test_episode_page_shows_map_instruction_actions_metrics_and_video(site):
    DATASET = site["dataset"]
    from PIL import Image

    from envs.topdown_overlay import AGENT_PATH, GOAL, REFERENCE
    from vlnsim.episodes import load

    eid = site["expert_ids"][0]
    p = site["out"] / "episodes" / "expert" / f"{eid}.html"
    page = Page(p)
    rec = next(json.loads(l) for l in (site["root"] / "eval" / "expert" / "episodes.jsonl").read_text().splitlines()
               if json.loads(l)["episode_id"] == eid)
    ep = next(e for e in load(site["data"] / "datasets" / DATASET / "v1" / SPLIT / f"{SPLIT}.json.gz").episodes
              if str(e.episode_id) == eid)
    assert page.by_class["instruction"][0] == " ".join(ep.instruction.instruction_text.split())
    steps = page.rows("steps-table")
    assert [r["cells"][1] for r in steps] == [("STOP", "FORWARD", "LEFT", "RIGHT")[a] for a in rec["actions"]]
    metrics = {r["cells"][0]: r["cells"][1] for r in page.tables["metrics-table"]}
    assert metrics["success"] == "1" and metrics["SPL"] == f"{rec['metrics']['spl']:.3f}"
    assert metrics["nDTW"] == f"{rec['metrics']['ndtw']:.3f}"
    # the map: reference path, agent path and goal drawn in their colours
    img = np.asarray(Image.open(p.parent / f"{eid}.png").convert("RGB")).astype(int)
    for color in (REFERENCE, AGENT_PATH, GOAL):
        close = (np.abs(img - np.asarray(color)).sum(axis=-1) < 40).sum()
        assert close >= 10, f"colour {color} barely on the map ({close} px)"
    videos = [l for l in page.links if l.endswith(".mp4")]
    assert videos and all((p.parent / v).resolve().is_file() for v in videos)
    poster = next(l for l in page.links if l.endswith(".jpg"))  # the video's first frame (all black here)
    assert np.asarray(Image.open(p.parent / poster)).shape == (32, 32, 3)
    # the other agents' pages of the same episode are linked
    assert any(l.endswith(f"forward-only/{eid}.html") for l in page.links)


def test_attended_words_are_highlighted_by_weight(site):
    eid = json.loads((site["root"] / "eval" / "attn" / "episodes.jsonl").read_text().splitlines()[0])["episode_id"]
    page = Page(site["out"] / "episodes" / "attn" / f"{eid}.html")
    from vlnsim.episodes import tokenize

    styled = page.styled
    text = page.by_class["instruction"][0]
    assert [t for t, _ in styled] == text.split()
    assert [t for t, _ in styled] == tokenize(" ".join(t for t, _ in styled))  # the model's tokens
    highlighted = [i for i, (_, style) in enumerate(styled) if "background" in style]
    assert highlighted == [2]  # only the token holding 0.9 of the attention (the others are < 15% of it)
    rows = page.rows("steps-table")
    tok = [t for t, _ in styled]
    assert rows and all(r["cells"][2] == " · ".join([tok[2], tok[3], tok[1]]) for r in rows)


def test_unmatched_videos_are_listed_and_copied(site):
    page = Page(site["index"])
    loose = [l for l in page.links if l.endswith(".mp4")]
    assert len(loose) == 1 and "not_evaluated" in loose[0]
    assert (site["out"] / loose[0]).is_file()


def test_report_command_and_errors(site, tmp_path, capsys):
    DATASET = site["dataset"]
    from vlnsim.cli import main

    out = tmp_path / "r"
    assert main(["report", str(site["root"] / "eval" / "expert"), "--out", str(out), "--data-root", str(site["data"]),
                 "--dataset", DATASET, "--split", SPLIT]) == 0
    assert str(out / "index.html") in capsys.readouterr().out
    assert (out / "index.html").is_file() and not (out / "curves").exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["report", str(empty), "--out", str(tmp_path / "r2")]) == 2
    assert "no evaluations" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "missing"), "--out", str(tmp_path / "r3")]) == 2


def test_report_without_the_dataset_still_draws_the_agent_path(site, tmp_path):
    DATASET = site["dataset"]
    from PIL import Image

    from agents.report import build_report
    from envs.topdown_overlay import AGENT_PATH

    index = build_report([site["root"] / "eval" / "expert"], tmp_path / "r", data_root=tmp_path / "nodata",
                         dataset=DATASET, split=SPLIT)
    notes = " ".join(Page(index).by_class.get("notes", []))
    assert "not found" in notes and "nodata" in notes
    eid = site["expert_ids"][0]
    p = tmp_path / "r" / "episodes" / "expert" / f"{eid}.html"
    page = Page(p)
    assert not page.errors and all(t.is_file() for t in page.local_targets())
    assert "instruction" not in page.by_class and "Instruction not available" in p.read_text()
    img = np.asarray(Image.open(p.parent / f"{eid}.png").convert("RGB")).astype(int)
    assert (np.abs(img - np.asarray(AGENT_PATH)).sum(axis=-1) < 40).sum() >= 10


CHROMIUM = Path("/usr/bin/chromium")
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=5000"]


def _chromium(args, cwd):
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([str(CHROMIUM), *CHROME_FLAGS, f"--user-data-dir={profile}", *args], cwd=cwd,
                              capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.is_file(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)")
def test_report_renders_in_headless_chromium(site, tmp_path):
    from PIL import Image

    eid = site["expert_ids"][0]
    pages = {"index": site["index"], "episode": site["out"] / "episodes" / "expert" / f"{eid}.html"}
    for name, page in pages.items():
        shot = tmp_path / f"{name}.png"
        r = _chromium(["--window-size=1280,1000", f"--screenshot={shot}", page.as_uri()], tmp_path)
        assert shot.is_file(), r.stderr[-2000:]
        img = np.asarray(Image.open(shot).convert("RGB"))
        assert img.shape[:2] == (1000, 1280) and img.std() > 10  # not a blank page
        r = _chromium(["--dump-dom", page.as_uri()], tmp_path)
        assert r.returncode == 0, r.stderr[-2000:]
        consoles = [l for l in r.stderr.splitlines() if ":CONSOLE" in l]
        assert not consoles, consoles  # the report logs nothing unless something broke
        assert 'data-broken-images="0"' in r.stdout, f"{name}: images failed to load"
        if name == "index":
            assert r.stdout.count("<tr") >= 4 and "summary-table" in r.stdout
        else:
            assert f'alt="top-down map of episode {eid}"' in r.stdout
    # the browser's filters run from the URL: ?success=0 hides every successful episode
    r = _chromium(["--dump-dom", (site["out"] / "episodes.html").as_uri() + "?success=0"], tmp_path)
    rows = [l for l in r.stdout.splitlines() if "data-success=" in l]
    assert rows
    for l in rows:
        hidden = 'style="display: none;"' in l
        assert hidden == ('data-success="1"' in l), l


def test_eval_attention_fields_match_a_direct_computation():
    from agents.evaluation import attention_fields

    rng = np.random.default_rng(0)
    steps = [rng.dirichlet(np.ones(7)).tolist() for _ in range(5)]
    weights = steps[:2] + [None] + steps[2:]
    f = attention_fields(weights)
    for i in range(7):  # the mean over the steps that have weights, token by token
        assert f["attention_mean"][i] == pytest.approx(sum(s[i] for s in steps) / len(steps), abs=1e-4)
    tops = [sorted(range(7), key=lambda j: -s[j])[:3] for s in steps]
    assert f["attention_top"] == tops[:2] + [[]] + tops[2:]
    assert attention_fields([None, None]) == {} and attention_fields([]) == {}


def test_uniform_attention_highlights_nothing_and_peaks_are_ranked():
    from agents.report.episode_view import instruction_words

    text = "walk past the red sofa and stop"
    assert all(w["weight"] == 0 for w in instruction_words(text, [1 / 7] * 7))
    words = instruction_words(text, [0.02, 0.02, 0.02, 0.5, 0.3, 0.02, 0.12])
    assert [w["text"] for w in words] == text.split()
    lit = {w["text"]: w["weight"] for w in words if w["weight"] > 0}
    assert set(lit) == {"red", "sofa"}  # 0.12 is under 1.5 x the uniform 1/7
    assert lit["red"] > lit["sofa"]
