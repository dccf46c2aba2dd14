"""Composite frames and rollout videos (vlnsim.viz.composite, vlnsim.viz.video)."""
from __future__ import annotations

import os

import numpy as np
import pytest
from PIL import Image

from vlnsim.viz.composite import colorize_depth, composite_frame, highlight_weights, metrics_frame, wrap_words
from vlnsim.viz.video import VideoWriter, read_video, write_gif, write_video

METRICS = dict(success=1.0, spl=0.9, ne=0.5, oracle_success=1.0, tl=7.0, ndtw=0.8, sdtw=0.8, cls=0.7)


def _solid(h, w, rgb):
    return np.broadcast_to(np.asarray(rgb, dtype=np.uint8), (h, w, 3)).copy()


def test_mp4_round_trip_frame_count_size_and_colour(tmp_path):
    colours = [(200, 30, 30), (30, 200, 30), (30, 30, 200)]
    frames = [_solid(96, 160, c) for c in colours for _ in range(3)]
    path = write_video(tmp_path / "v.mp4", frames, fps=5, final_metrics=METRICS)
    video = read_video(path)
    hold = int(round(2.0 * 5))  # the metrics card is held 2 s
    assert video.shape == (len(frames) + hold, 96, 160, 3)
    # lossy H.264: each solid frame decodes to (nearly) its colour
    for i, c in enumerate(colours):
        mean = video[3 * i + 1].reshape(-1, 3).mean(axis=0)
        assert np.abs(mean - np.asarray(c)).max() < 12, (i, mean, c)
    assert sorted(os.listdir(tmp_path)) == ["v.mp4"]  # no temp file left


def test_frame_size_padded_to_macro_block(tmp_path):
    frames = [_solid(50, 70, (255, 255, 255)) for _ in range(2)]
    video = read_video(write_video(tmp_path / "odd.mp4", frames, fps=2))
    assert video.shape == (2, 64, 80, 3)
    assert video[0, :50, :70].mean() > 240  # the picture is kept, not resized
    assert video[0, 52:, :].mean() < 15 and video[0, :, 72:].mean() < 15  # black padding


def test_gif_written_with_all_frames(tmp_path):
    frames = [_solid(32, 32, (i * 40, 0, 0)) for i in range(4)]
    with VideoWriter(tmp_path / "a.mp4", fps=4, gif_path=tmp_path / "a.gif") as w:
        for f in frames:
            w.append(f)
    with Image.open(tmp_path / "a.gif") as im:
        assert im.n_frames == 4
        assert im.size == (32, 32)
    assert read_video(tmp_path / "a.mp4").shape[0] == 4


def test_interrupted_write_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError, match="boom"):
        with VideoWriter(tmp_path / "x.mp4", fps=4, gif_path=tmp_path / "x.gif") as w:
            w.append(_solid(16, 16, (1, 2, 3)))
            raise RuntimeError("boom")
    assert os.listdir(tmp_path) == []


def test_bad_frames_rejected(tmp_path):
    w = VideoWriter(tmp_path / "b.mp4")
    with pytest.raises(ValueError, match="dtype float"):
        w.append(np.zeros((8, 8, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="shape"):
        w.append(np.zeros((8, 8, 5), dtype=np.uint8))
    with pytest.raises(ValueError, match="at least one frame"):
        w.close()
    with pytest.raises(ValueError, match="at least one frame"):
        write_gif(tmp_path / "e.gif", [])
    with pytest.raises(ValueError, match="fps"):
        VideoWriter(tmp_path / "c.mp4", fps=0)


def test_colorize_depth_misses_black_and_near_brighter():
    d = np.array([[0.0, 0.5, 3.0, 9.5, 50.0]], dtype=np.float32)[..., None]
    rgb = colorize_depth(d, max_depth=10.0).astype(float)
    assert rgb.shape == (1, 5, 3)
    assert (rgb[0, 0] == 0).all()
    lum = rgb[0] @ np.array([0.299, 0.587, 0.114])
    assert lum[1] > lum[2] > lum[3] >= lum[4] > 0  # monotone: near is bright, far dark
    assert np.allclose(rgb[0, 4], [68, 1, 84])  # clipped at max_depth


def test_highlight_weights_forms():
    assert highlight_weights(None, 5) == {}
    # per-word distribution -> top 3 scaled by the largest
    w = highlight_weights([0.1, 0.4, 0.0, 0.2, 0.3], 5, top_k=3)
    assert w == pytest.approx({1: 1.0, 4: 0.75, 3: 0.5})
    assert highlight_weights([(2, 0.5), (7, 1.0)], 5) == {2: 1.0}  # index 7 out of range dropped
    assert highlight_weights({0: 2.0, 1: 1.0}, 2) == {0: 1.0, 1: 0.5}


def test_wrap_words_respects_width():
    words = "walk down the hallway and stop at the second door on your left".split()
    lines = wrap_words(words, 120)
    assert [i for line in lines for i in line] == list(range(len(words)))
    from vlnsim.viz.composite import _font

    font = _font()
    for line in lines:
        text = " ".join(words[i] for i in line)
        assert font.getlength(text) <= 120 or len(line) == 1


def test_composite_layout_constant_and_highlight_drawn():
    rng = np.random.default_rng(0)
    text = "Walk past the sofa and turn left into the kitchen then stop by the fridge"
    kw = dict(topdown=_solid(100, 300, (200, 200, 200)), instruction=text, max_depth=5.0)
    f1 = composite_frame(rgb=rng.integers(0, 255, (64, 64, 3), dtype=np.uint8),
                         depth=rng.random((64, 64, 1)).astype(np.float32), action=None, step=0, **kw)
    f2 = composite_frame(rgb=None, depth=None, action="MOVE_FORWARD", step=7, metrics=METRICS,
                         highlight=[0.0, 0.0, 0.0, 1.0], **kw)
    assert f1.shape == f2.shape and f1.dtype == np.uint8
    assert f1.shape[1] == 3 * 256 and f1.shape[0] % 16 == 0
    # the RGB panel shows the 64x64 image upscaled 4x (nearest): a 4x4 block is uniform
    assert (f1[40:44, 40:44] == f1[40, 40]).all()
    # highlighted word "sofa": highlight-coloured pixels appear in the text band only in f2
    band1, band2 = f1[256:], f2[256:]
    hl = np.array([255, 196, 0])
    near = lambda img: (np.abs(img.astype(int) - hl).sum(-1) < 40).sum()
    assert near(band1) == 0 and near(band2) > 50


def test_metrics_frame_size():
    card = metrics_frame(METRICS, (336, 768), title="t", subtitle="an instruction")
    assert card.shape == (336, 768, 3) and card.dtype == np.uint8
    assert card.std() > 0  # text was drawn
