#!/usr/bin/env bash
# GPU readiness in one run: CUDA tests, the Warp CUDA renderer benchmark and a short CUDA
# run of every training config, then one summary table. Under 8 minutes on one GPU.
#
#   bash bench/gpu_check.sh                  # on a GPU machine (H200-class: ~5-7 min)
#   GPU_CHECK_QUICK=1 bash bench/gpu_check.sh  # tiny sizes; on a CPU-only machine it runs
#                                            # every stage on the CPU as a smoke test
#
# Environment: PYTHON (default .venv/bin/python, else python3), GPU_CHECK_OUT (default
# runs/gpu_check: data, runs, logs/<stage>.log, summary.txt, render_warp.json),
# GPU_CHECK_BUDGET_S (default 450: stages that would start past it are skipped),
# GPU_CHECK_QUICK=1 (tiny sizes), GPU_CHECK_ONLY="pytest_cuda render_warp*" (run only the
# stages matching these globs; later stages need the data_* ones), GPU_CHECK_INSTALL=1 (allow `pip install` of a CUDA
# torch / warp-lang when missing; off by default: the check assumes no network).
# Without a CUDA device it prints "no CUDA device", runs what it can (the CUDA tests
# skip; everything else only with GPU_CHECK_QUICK=1, on the CPU) and exits 0 unless a
# stage failed. Exit status: 0 when no stage FAILed or timed out, else 1.
set -u -o pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-}"
if [ -z "$PY" ]; then
  if [ -x .venv/bin/python ]; then PY=.venv/bin/python; else PY=python3; fi
fi
QUICK="${GPU_CHECK_QUICK:-0}"
OUT="${GPU_CHECK_OUT:-runs/gpu_check}"
BUDGET="${GPU_CHECK_BUDGET_S:-450}"
INSTALL="${GPU_CHECK_INSTALL:-0}"
ONLY="${GPU_CHECK_ONLY:-}"
export PYTHONUNBUFFERED=1 TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
mkdir -p "$OUT/logs"
OUT="$(cd "$OUT" && pwd)"
DATA="$OUT/data"
RUNS="$OUT/runs"
T0=$(date +%s)
ROWS=()
FAILED=0

elapsed() { echo $(( $(date +%s) - T0 )); }

record() {  # stage status seconds note
  selected "$1" || return 0
  ROWS+=("$1|$2|$3|$4")
  printf '[%4ss] %-30s %-4s %5ss  %s\n' "$(elapsed)" "$1" "$2" "$3" "$4"
}

note_of() {  # a one-line summary of a stage's log
  local log=$1 status=$2 line
  if [ "$status" = PASS ]; then
    line=$(grep -E "^summary: " "$log" | tail -n 1 | cut -c10-)
    [ -z "$line" ] && line=$(grep -oE "(global_step|steps)[\"]?[:=] ?[0-9]+" "$log" | tail -n 1 | tr -d '"')
    [ -z "$line" ] && line=$(grep -E "passed|failed|skipped|steps: |checkpoint|frames/s|wrote|saved|final" "$log" | tail -n 1)
  else
    line=$(grep -E "Error|error|Traceback|FAILED|Killed" "$log" | grep -v "^\s*File " | tail -n 1)
  fi
  [ -z "$line" ] && line=$(grep -v '^\s*$' "$log" | tail -n 1)
  echo "$line" | tr -s ' \t' ' ' | cut -c1-90
}

selected() {  # is stage $1 selected by GPU_CHECK_ONLY (space-separated globs; empty: all)?
  [ -z "$ONLY" ] && return 0
  local pat
  for pat in $ONLY; do
    # shellcheck disable=SC2053
    [[ $1 == $pat ]] && return 0
  done
  return 1
}

stage() {  # stage NAME LIMIT_S CMD... : run with a timeout inside the budget, log, record
  local name=$1 limit=$2
  shift 2
  selected "$name" || return 0
  local left=$(( BUDGET - $(elapsed) ))
  if [ "$left" -lt 15 ]; then
    record "$name" SKIP 0 "time budget (${BUDGET}s) spent"
    return 0
  fi
  [ "$limit" -gt "$left" ] && limit=$left
  local log="$OUT/logs/$name.log" t rc status
  t=$(date +%s)
  timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then status=PASS
  elif [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status=TIME
  else status=FAIL
  fi
  [ "$status" != PASS ] && FAILED=1
  record "$name" "$status" "$(( $(date +%s) - t ))" "$(note_of "$log" "$status")"
  return $rc
}

VLNSIM=("$PY" -m vlnsim.cli)  # the CLI (its commands are entry points of the installed package)

# ------------------------------------------------------------------ preflight
echo "== gpu_check: $(date -u +%FT%TZ) repo $ROOT python $PY quick=$QUICK budget=${BUDGET}s out=$OUT"
if command -v nvidia-smi >/dev/null 2>&1; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | sed 's/^/   gpu: /'
fi
probe() {
  "$PY" - <<'EOF' 2>/dev/null
import importlib.util as u
out = {"torch": "missing", "cuda": "0", "warp": "missing", "warp_cuda": "0", "vlnsim": "0"}
try:
    import torch
    out["torch"] = torch.__version__
    out["cuda"] = "1" if torch.cuda.is_available() else "0"
    if out["cuda"] == "1":
        out["gpu"] = torch.cuda.get_device_name(0).replace(" ", "_")
except Exception:
    pass
try:
    import contextlib, io
    with contextlib.redirect_stdout(io.StringIO()):  # Warp prints a banner on init
        import warp as wp
        wp.init()
        out["warp"] = wp.config.version
        out["warp_cuda"] = "1" if wp.is_cuda_available() else "0"
except Exception:
    pass
try:
    from vlnsim.cli import command_entry_points
    out["vlnsim"] = "1" if "train" in command_entry_points() else "0"
except Exception:
    pass
print(" ".join(f"{k}={v}" for k, v in out.items()))
EOF
}
eval "$(probe | tail -n 1)"
echo "   torch=$torch cuda=$cuda warp=$warp warp_cuda=$warp_cuda vlnsim_installed=$vlnsim"
if [ "$vlnsim" != 1 ]; then  # entry points need an installed package; an editable install works offline
  stage install_vlnsim 120 "$PY" -m pip install --no-deps --no-build-isolation -q -e "$ROOT"
  eval "$(probe | tail -n 1)"
fi
if [ "$INSTALL" = 1 ] && command -v nvidia-smi >/dev/null 2>&1; then
  if [ "$cuda" != 1 ]; then
    stage install_torch_cuda 240 "$PY" -m pip install -q --index-url https://download.pytorch.org/whl/cu124 torch
  fi
  if [ "$warp" = missing ]; then stage install_warp 120 "$PY" -m pip install -q warp-lang; fi
  eval "$(probe | tail -n 1)"
fi
if [ "$cuda" = 1 ]; then
  DEV=cuda
  WARP_DEV=cuda:0
else
  echo "no CUDA device (torch $torch: torch.cuda.is_available() is False)"
  [ "$torch" != missing ] && [ "${torch#*+cpu}" != "$torch" ] && command -v nvidia-smi >/dev/null 2>&1 && \
    echo "   torch is a CPU-only build on a machine with an NVIDIA GPU: GPU_CHECK_INSTALL=1 installs a CUDA build"
  DEV=cpu
  WARP_DEV=cpu
fi
RUN_TRAINING=1
[ "$DEV" = cpu ] && [ "$QUICK" != 1 ] && RUN_TRAINING=0

# Sizes: full (GPU) vs quick (smoke test).
if [ "$QUICK" = 1 ]; then
  HOUSES=4; EPH=4; CORPUS_HOUSES=5; VIEWS=4; BENCH=(--sizes 32 64 --scenes 1 2 --frames 4)
  STEPS=1; IL_Q=(trainer.batch_size=2 trainer.num_envs=2 env.max_episode_steps=40 trainer.max_collect_steps=40)
  VLNCE_Q=(env.width=64 env.height=64 policy.depth.input_size=64 policy.hidden_size=64 trainer.num_envs=2 trainer.batch_size=2)
  VLP_Q=(optim.batch_size=8 data.val_images=8); PPO_Q=(trainer.num_envs=2)
else
  HOUSES=8; EPH=10; CORPUS_HOUSES=10; VIEWS=12; BENCH=(--sizes 64 128 256 --scenes 1 4 --frames 200)
  STEPS=3; IL_Q=(); VLNCE_Q=(); VLP_Q=(optim.batch_size=32 data.val_images=32); PPO_Q=()
fi

# ------------------------------------------------------------------ CUDA tests
rm -f "$OUT/resume_$DEV.json"
VLNSIM_RESUME_REPORT="$OUT/resume_$DEV.json" stage pytest_cuda 180 "$PY" -m pytest -q -rs -m cuda -p no:cacheprovider \
  -o addopts="" tests/test_cuda.py
if selected pytest_cuda && [ -f "$OUT/resume_$DEV.json" ]; then
  record resume_vs_uninterrupted INFO 0 "$(tr -d '{}"' <"$OUT/resume_$DEV.json" | sed 's/device: [a-z]*, //')"
fi

# ------------------------------------------------------------------ Warp renderer benchmark
if [ "$warp" != missing ]; then
  [ "$DEV" = cpu ] && [ "$QUICK" != 1 ] && BENCH=(--sizes 64 --scenes 1 --frames 20)
  stage render_warp_${WARP_DEV%%:*} 120 "$PY" bench/render_warp.py --device "$WARP_DEV" "${BENCH[@]}" \
    --json "$OUT/render_warp.json"
  selected "render_warp_${WARP_DEV%%:*}" && grep -A20 -- "------" "$OUT/logs/render_warp_${WARP_DEV%%:*}.log" \
    2>/dev/null | sed 's/^/   /'
else
  record render_warp SKIP 0 "warp-lang is not installed (pip install 'vlnsim[gpu]')"
fi

# ------------------------------------------------------------------ data for the training configs
if [ "$RUN_TRAINING" = 1 ]; then
  stage data_vln 90 "${VLNSIM[@]}" generate --name gc_r2r --houses "$HOUSES" --episodes-per-house "$EPH" --seed 0 \
    --data-root "$DATA" --min-distance 3 --max-distance 10 --quiet
  stage data_discrete 60 "${VLNSIM[@]}" generate --setting discrete --name gc_r2r_discrete --houses "$HOUSES" \
    --episodes-per-house "$EPH" --seed 1 --data-root "$DATA" --quiet
  stage data_corpus64 60 "${VLNSIM[@]}" make-corpus --houses "$CORPUS_HOUSES" --views-per-house "$VIEWS" --size 64 \
    --val-fraction 0.2 --test-fraction 0.2 --out "$DATA/corpus64" --quiet
  stage data_corpus224 60 "${VLNSIM[@]}" make-corpus --houses "$CORPUS_HOUSES" --views-per-house "$VIEWS" --size 224 \
    --val-fraction 0.2 --test-fraction 0.2 --out "$DATA/corpus224" --quiet
else
  record training SKIP 0 "no CUDA device (GPU_CHECK_QUICK=1 runs the training stages on the CPU)"
fi

# ------------------------------------------------------------------ a short run of each training config
train() {  # train STAGE CONFIG EXTRA...
  local name=$1 config=$2
  shift 2
  stage "$name" 120 "${VLNSIM[@]}" train --config "$config" --device "$DEV" --max-steps "$STEPS" --run-dir "$RUNS/$name" \
    --data-root "$DATA" --no-progress --fresh "$@"
}
if [ "$RUN_TRAINING" = 1 ]; then
  VL=(env.dataset=gc_r2r eval.split=null)
  train il_cma_demo_cpu il_cma_demo_cpu "${VL[@]}" "${IL_Q[@]}"
  # The GPU config's frozen CLIP ViT-B/32 comes from the local Hugging Face cache (no network here).
  CLIP=()
  selected il_cma_vlnce_gpu && "$PY" -c "from transformers import CLIPModel; CLIPModel.from_pretrained('openai/clip-vit-base-patch32', local_files_only=True)" \
    >/dev/null 2>&1 || CLIP=(policy.vision.clip=null)
  [ ${#CLIP[@]} -gt 0 ] && selected il_cma_vlnce_gpu && echo "   il_cma_vlnce_gpu: no openai/clip-vit-base-patch32 in the HF cache -> tiny random CLIP"
  # ... and its envs render with the Warp backend (on the GPU) when Warp is there.
  WARP_ENV=()
  [ "$warp" != missing ] && WARP_ENV=(env.backend=warp)
  train il_cma_vlnce_gpu il_cma_vlnce_gpu "${VL[@]}" "${CLIP[@]}" "${WARP_ENV[@]}" \
    "trainer.cache.disk_dir=$RUNS/vlnce_feature_cache" "${VLNCE_Q[@]}"
  # DDP over NCCL needs two GPUs (NCCL refuses two ranks on one device).
  NGPU=$("$PY" -c "import torch; print(torch.cuda.device_count())" 2>/dev/null || echo 0)
  if [ "$DEV" = cuda ] && [ "${NGPU:-0}" -ge 2 ]; then
    stage ddp_nccl_2gpu 150 "$PY" -m torch.distributed.run --standalone --nproc_per_node 2 -m vlnsim.cli train \
      --config il_cma_demo_cpu --device cuda --max-steps "$STEPS" --run-dir "$RUNS/ddp_nccl" --data-root "$DATA" \
      --no-progress --fresh "${VL[@]}"
  else
    record ddp_nccl_2gpu SKIP 0 "needs 2 CUDA devices (found ${NGPU:-0}); gloo DDP: tests/test_trainer_distributed.py -m slow"
  fi
  train ppo_pointnav_cpu ppo_pointnav_cpu env.dataset=gc_r2r trainer.eval_every=100000 "${PPO_Q[@]}"
  # Discrete R2R: panorama features of the tiny CLIP the first IL run built.
  if [ -f "$RUNS/il_cma_demo_cpu/tiny_clip/config.json" ]; then
    stage features_r2r 90 "${VLNSIM[@]}" extract-features --encoder "$RUNS/il_cma_demo_cpu/tiny_clip" \
      --out "$DATA/r2r_features.h5" --data-root "$DATA" --dataset gc_r2r_discrete --quiet
    stage r2r_seq2seq 120 "${VLNSIM[@]}" train --config r2r_seq2seq --device "$DEV" --max-steps "$STEPS" \
      --run-dir "$RUNS/r2r_seq2seq" --no-progress --fresh trainer.data_root="$DATA" \
      trainer.dataset=gc_r2r_discrete trainer.features="$DATA/r2r_features.h5"
  else
    record r2r_seq2seq SKIP 0 "no tiny CLIP from il_cma_demo_cpu to extract features with"
  fi
  stage vlp_cpu 120 "${VLNSIM[@]}" pretrain --config vlp_cpu --device "$DEV" --max-steps "$STEPS" --run-dir "$RUNS/vlp_cpu" \
    --no-progress data.corpus="$DATA/corpus64" "${VLP_Q[@]}"
  stage vlp_gpu 150 "${VLNSIM[@]}" pretrain --config vlp_gpu --device "$DEV" --max-steps "$STEPS" --run-dir "$RUNS/vlp_gpu" \
    --no-progress data.corpus="$DATA/corpus224" "${VLP_Q[@]}"
  for task in retrieval vqa caption; do
    if [ -d "$RUNS/vlp_cpu/final" ]; then
      stage "finetune_$task" 90 "${VLNSIM[@]}" finetune --task "$task" --encoder "$RUNS/vlp_cpu/final" --data "$DATA/corpus64" \
        --out "$RUNS/finetune_$task" --max-steps "$STEPS" --device "$DEV" --no-eval --no-progress --fresh
    else
      record "finetune_$task" SKIP 0 "no encoder: vlp_cpu did not finish"
    fi
  done
fi

# ------------------------------------------------------------------ summary
{
  echo
  echo "== gpu_check summary ($(date -u +%FT%TZ); device $DEV${gpu:+ $gpu}; torch $torch; warp $warp; quick=$QUICK; $(elapsed)s)"
  printf '%-30s %-4s %6s  %s\n' stage stat "secs" note
  printf '%-30s %-4s %6s  %s\n' "------------------------------" "----" "------" "----"
  for r in "${ROWS[@]}"; do
    IFS='|' read -r n s t note <<<"$r"
    printf '%-30s %-4s %6s  %s\n' "$n" "$s" "$t" "$note"
  done
  echo "(logs: $OUT/logs/<stage>.log; renderer figures: $OUT/render_warp.json)"
} | tee "$OUT/summary.txt"
exit $FAILED
