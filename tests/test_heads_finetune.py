"""`vlnsim finetune` and `vlnsim eval-encoder` end to end on a tiny rendered corpus."""
import json

import pytest
import torch
from safetensors.torch import load_file

from vlnsim.cli import main as vlnsim_main
from heads_fixtures import corpus_texts, tiny_corpus, tiny_encoder

FAST = ["batch_size=8", "max_eval_images=6", "log_every=2", "checkpoint_every=2", "retrieval.k_test=4",
        "caption.num_layers=1", "caption.num_heads=2", "caption.hidden_size=32", "caption.max_new_tokens=8",
        "caption.num_beams=2", "caption.meteor=false", "device=cpu"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("heads_e2e")
    corpus = tiny_corpus(root / "corpus")
    enc = tiny_encoder(corpus_texts(corpus), root / "tok")
    enc.save_pretrained(root / "encoder")
    return root, corpus, root / "encoder"


@pytest.mark.parametrize("task, results", [("retrieval", "retrieval_rankings.json"), ("vqa", "vqa_results.json"),
                                           ("caption", "captions_results.json")])
def test_finetune_writes_model_metrics_and_standard_results(setup, task, results, capsys):
    root, corpus, encoder = setup
    out = root / f"ft_{task}"
    rc = vlnsim_main(["finetune", "--task", task, "--encoder", str(encoder), "--data", str(corpus), "--out", str(out),
                      "--steps", "4", "--no-progress", *FAST])
    assert rc == 0
    assert (out / "final" / "encoder" / "vlp_config.json").is_file()
    assert (out / "final" / "head" / "head.json").is_file()
    assert list((out / "tb").iterdir())
    metrics = json.loads((out / "eval" / "metrics.json").read_text())
    preds = json.loads((out / "eval" / results).read_text())
    if task == "retrieval":
        assert {"i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "rsum"} <= set(metrics["itm"])
        assert len(preds["i2t"]) == len(preds["image_ids"]) == 6 and len(preds["t2i"]) == len(preds["texts"])
    elif task == "vqa":
        assert 0.0 <= metrics["accuracy"] <= 1.0 and metrics["per_family"]
        assert set(metrics["majority_baseline"]["per_family"]) == set(metrics["per_family"])
        assert preds and set(preds[0]) == {"question_id", "answer"}
    else:
        assert {"bleu_1", "bleu_4", "rouge_l", "cider_d"} <= set(metrics) and "spice" in metrics["skipped"]
        assert len(preds) == 6 and set(preds[0]) == {"image_id", "caption"}
        assert all(isinstance(p["image_id"], int) and isinstance(p["caption"], str) for p in preds)


def test_resume_is_exact(setup):
    root, corpus, encoder = setup
    args = ["finetune", "--task", "vqa", "--encoder", str(encoder), "--data", str(corpus), "--no-progress",
            "--no-eval", "--steps", "6", *FAST]
    assert vlnsim_main(args + ["--out", str(root / "straight")]) == 0
    assert vlnsim_main(args + ["--out", str(root / "split"), "--max-steps", "3"]) == 0
    assert not (root / "split" / "final").exists()
    assert vlnsim_main(args + ["--out", str(root / "split"), "--resume"]) == 0
    a = load_file(str(root / "straight" / "final" / "head" / "model.safetensors"))
    b = load_file(str(root / "split" / "final" / "head" / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    fa = load_file(str(root / "straight" / "final" / "encoder" / "fusion" / "model.safetensors"))
    fb = load_file(str(root / "split" / "final" / "encoder" / "fusion" / "model.safetensors"))
    assert all(torch.equal(fa[k], fb[k]) for k in fa)
    # an existing run is not overwritten by accident
    assert vlnsim_main(args + ["--out", str(root / "split")]) == 2


def test_eval_encoder_writes_every_metric(setup, capsys):
    root, corpus, encoder = setup
    out = root / "eval_random"
    rc = vlnsim_main(["eval-encoder", "--encoder", str(encoder), "--tasks", "retrieval,vqa,caption", "--out", str(out),
                      "--data", str(corpus), "--random-encoder", "--steps", "2", "--no-progress", *FAST])
    assert rc == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["random_encoder"] is True and set(m["tasks"]) == {"retrieval", "vqa", "caption"}
    for method in ("itc", "itm"):
        assert {f"{d}_r{k}" for d in ("i2t", "t2i") for k in (1, 5, 10)} | {"rsum"} <= set(m["tasks"]["retrieval"][method])
    assert {"accuracy", "per_family", "majority_baseline"} <= set(m["tasks"]["vqa"])
    cap = m["tasks"]["caption"]
    assert {"bleu_1", "bleu_2", "bleu_3", "bleu_4", "rouge_l", "cider_d"} <= set(cap)
    assert "meteor" in cap or "meteor" in cap["skipped"]
    for name in ("retrieval_rankings.json", "vqa_results.json", "captions_results.json", "metrics.md"):
        assert (out / name).is_file()
    table = (out / "metrics.md").read_text()
    assert "| retrieval text→image R@1 (ITC+ITM) |" in table and "| caption CIDEr-D |" in table
    assert "VQA accuracy, majority baseline" in table
    capsys.readouterr()
    assert vlnsim_main(["eval-encoder", "--table", str(out / "metrics.json")]) == 0
    assert "| metric | eval_random |" in capsys.readouterr().out
    # a later call for one task into the same directory keeps the other tasks' results
    before = m["tasks"]["retrieval"]
    assert vlnsim_main(["eval-encoder", "--encoder", str(encoder), "--tasks", "vqa", "--out", str(out), "--data",
                        str(corpus), "--random-encoder", "--steps", "2", "--fresh", "--no-progress", *FAST]) == 0
    m2 = json.loads((out / "metrics.json").read_text())
    assert set(m2["tasks"]) == {"retrieval", "vqa", "caption"} and m2["tasks"]["retrieval"] == before
    # two calls at once: one read metrics.json before the other wrote its task; neither is lost
    stale = dict(m2, tasks={"caption": m2["tasks"]["caption"]})
    (out / "metrics.json").write_text(json.dumps(stale))
    assert vlnsim_main(["eval-encoder", "--encoder", str(encoder), "--tasks", "caption", "--out", str(out), "--data",
                        str(corpus), "--random-encoder", "--steps", "2", "--fresh", "--no-progress", *FAST]) == 0
    m3 = json.loads((out / "metrics.json").read_text())
    assert set(m3["tasks"]) == {"retrieval", "vqa", "caption"}
    assert m3["tasks"]["retrieval"] == before and m3["tasks"]["vqa"] == m2["tasks"]["vqa"]
    # ... but never a run made for another encoder
    cfg = json.loads((out / "retrieval" / "finetune_config.json").read_text())
    (out / "retrieval" / "finetune_config.json").write_text(json.dumps(dict(cfg, random_encoder=False)))
    (out / "metrics.json").write_text(json.dumps(stale))
    assert vlnsim_main(["eval-encoder", "--encoder", str(encoder), "--tasks", "caption", "--out", str(out), "--data",
                        str(corpus), "--random-encoder", "--steps", "2", "--fresh", "--no-progress", *FAST]) == 0
    assert set(json.loads((out / "metrics.json").read_text())["tasks"]) == {"vqa", "caption"}


def test_python_api_three_lines(setup):
    from agents.heads.api import VisionLanguage

    root, corpus, encoder = setup
    images = sorted((corpus / "images" / "test").glob("test_*[0-9].png"))[:2]
    vl = VisionLanguage.load(root / "eval_random") if (root / "eval_random").exists() else None
    if vl is None:
        pytest.skip("needs test_eval_encoder_writes_every_metric's output")
    caps, answers = vl.caption(images), vl.answer(images[:1], ["what room is this?", "how many chairs are there?"])
    ranked = vl.retrieve(images, ["a bed", "a sofa", "a chair"])
    assert len(caps) == 2 and all(isinstance(c, str) for c in caps)
    assert len(answers) == 2 and all(a in vl.models["vqa"].answers.answers for a in answers)
    assert ranked.scores.shape == (2, 3) and sorted(ranked.images_for_text[0]) == [0, 1]
    assert sorted(ranked.texts_for_image[1]) == [0, 1, 2]


def test_errors_are_one_line(setup, capsys):
    root, corpus, encoder = setup
    rc = vlnsim_main(["finetune", "--task", "vqa", "--encoder", str(root / "nope"), "--data", str(corpus),
                      "--out", str(root / "bad")])
    assert rc == 2 and "no vlp_config.json" in capsys.readouterr().err
    karpathy = corpus / "annotations" / "dataset_vlnsim.json"
    rc = vlnsim_main(["finetune", "--task", "vqa", "--encoder", str(encoder), "--data", str(karpathy),
                      "--out", str(root / "bad2"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and "has no questions" in err and str(karpathy) in err
    rc = vlnsim_main(["eval-encoder", "--encoder", str(encoder), "--tasks", "vqa,segmentation", "--out", str(root / "x")])
    assert rc == 2 and "segmentation" in capsys.readouterr().err


@pytest.mark.slow
def test_eval_encoder_nav(setup, tmp_path):
    root, corpus, encoder = setup
    data = tmp_path / "data"
    assert vlnsim_main(["generate", "--name", "tiny_r2r", "--houses", "4", "--episodes-per-house", "4",
                        "--data-root", str(data), "--quiet"]) == 0
    out = tmp_path / "ev"
    rc = vlnsim_main(["eval-encoder", "--encoder", str(encoder), "--tasks", "nav", "--out", str(out), "--random-encoder",
                      "--nav-data-root", str(data), "--nav-iterations", "1", "--nav-episodes", "2",
                      "--nav-set", "env.dataset=tiny_r2r", "--nav-set", "trainer.episodes_per_iteration=4",
                      "--nav-set", "trainer.epochs_per_iteration=1", "--nav-set", "eval.episodes=2", "--no-progress"])
    assert rc == 0
    nav = json.loads((out / "metrics.json").read_text())["tasks"]["nav"]
    assert {"sr", "spl", "ndtw"} <= set(nav) and nav["episodes"] == 2 and nav["split"] == "val_unseen"
    assert (out / "nav" / "random_encoder" / "vlp_config.json").is_file()
    assert "| nav nDTW (val_unseen) |" in (out / "metrics.md").read_text()
