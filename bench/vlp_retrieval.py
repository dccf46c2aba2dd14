"""Image-text retrieval of a VLP encoder on held-out houses: ITC alone and ITC + ITM re-ranking.

    python bench/vlp_retrieval.py --model runs/vlp_cpu/final --corpus data/vlp_corpus
    python bench/vlp_retrieval.py --init-config configs/vlp_cpu.yaml --corpus data/vlp_corpus   # step-0 model

Reads the first ``--images`` images of the ``--split`` split (test houses never appear in
training) with all their captions (5 each), ranks with ITC similarities, then re-ranks
each query's top ``--k`` candidates with the fusion encoder's ITM score (ALBEF's
protocol, with a smaller k than its 256/128). Prints R@1/5/10 both ways and writes JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def build_model(args):
    from agents.vlp import VLPModel

    if args.model:
        return VLPModel.from_pretrained(args.model), f"pretrained ({args.model})"
    from agents.vlp.pretrain_config import load_pretrain_config

    cfg = load_pretrain_config(args.init_config)
    return VLPModel.build(cfg.model, seed=cfg.seed), "step-0 init (random vision/fusion/projections)"


@torch.no_grad()
def evaluate(model, data, k: int, cache_dir, progress=True):
    from agents.vlp.data import TextFeatureCache
    from agents.vlp.retrieval import itm_rerank, retrieval_metrics

    model.eval()
    texts = [c for caps in data.captions for c in caps]
    owner = torch.tensor([i for i, caps in enumerate(data.captions) for _ in caps])
    t0 = time.perf_counter()
    cache = TextFeatureCache(model, texts, cache_dir=cache_dir, progress=progress)
    states, mask = cache.text_batch(texts)
    txt = model.text_output(states, mask)
    img = [model.encode_image(data.images[i:i + 128]) for i in range(0, len(data), 128)]
    img_embeds = torch.cat([x.embeds for x in img])
    img_tokens = torch.cat([x.tokens for x in img])
    sim = (img_embeds @ txt.embeds.t()).float()
    itc = retrieval_metrics(sim, owner)
    t1 = time.perf_counter()
    i2t, t2i = itm_rerank(model, img_tokens, txt, sim, k=k)
    m_i2t, m_t2i = retrieval_metrics(i2t, owner), retrieval_metrics(t2i, owner)
    itm = {key: (m_i2t[key] if key.endswith("i2t") else m_t2i[key]) for key in m_i2t}
    return {"itc": itc, "itc_itm": itm, "seconds_itc": t1 - t0, "seconds_itm": time.perf_counter() - t1}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--model", help="a VLPModel.save_pretrained directory (e.g. runs/vlp_cpu/final)")
    src.add_argument("--init-config", help="a pretraining YAML: evaluate its freshly initialised model")
    p.add_argument("--corpus", default="data/vlp_corpus")
    p.add_argument("--split", default="test")
    p.add_argument("--images", type=int, default=1000)
    p.add_argument("--k", type=int, default=16, help="ITC candidates re-ranked by ITM per query")
    p.add_argument("--out", default=None, help="write the figures as JSON here")
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    from agents.vlp.data import load_image_text

    model, label = build_model(args)
    corpus = Path(args.corpus)
    data = load_image_text(corpus / "annotations" / f"captions_{args.split}.json", corpus / "images" / args.split,
                           model.image_size, model.grid, args.images)
    r = evaluate(model, data, args.k, corpus / "features")
    r.update(model=label, images=len(data), captions=sum(len(c) for c in data.captions), k=args.k, split=args.split)
    print(f"{label}: {r['images']} images x {r['captions'] // r['images']} captions ({args.split} houses), ITM top-{args.k}")
    print("| ranking | i2t R@1 | R@5 | R@10 | t2i R@1 | R@5 | R@10 |")
    print("|---|---|---|---|---|---|---|")
    for name, key in (("ITC", "itc"), ("ITC + ITM", "itc_itm")):
        m = r[key]
        print(f"| {name} | {m['r1_i2t']:.3f} | {m['r5_i2t']:.3f} | {m['r10_i2t']:.3f} | "
              f"{m['r1_t2i']:.3f} | {m['r5_t2i']:.3f} | {m['r10_t2i']:.3f} |")
    print(f"time: ITC {r['seconds_itc']:.1f} s (incl. text features), ITM re-ranking {r['seconds_itm']:.1f} s")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
