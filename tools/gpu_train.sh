#!/usr/bin/env bash
# One call on a CUDA machine without network access: set up what is missing, train a config for a
# fixed number of minutes, score the checkpoint against the learning-free baselines, list the
# deployable checkpoints; about 6 + 2 minutes by default, inside a 10-minute window. Without a
# GPU the same config trains on the CPU, in the background (nohup) unless --foreground.
#
# usage: tools/gpu_train.sh [options] [-- TRAIN_OPTIONS ...]
#   --config FILE     training config (default config/train/cspn_small_selfsup.yaml)
#   --minutes M       training budget, run.max_minutes (default 6 with CUDA; on the CPU the
#                     config's own limits unless given)
#   --out DIR         run folder (default ./out/gpu_train/<config name>); a folder with a
#                     state.pt is resumed (another call continues the same run)
#   --gpus N          processes on this node, one GPU each (default: every visible GPU; N > 1
#                     runs torchrun --standalone)
#   --precision P     fp32 | bf16 | fp16 (default: bf16 where the GPU has it, else fp16;
#                     fp32 on the CPU)
#   --baselines "..." models scored next to the checkpoint (default "classical ip_basic nearest")
#   --wheels DIR      wheelhouse for missing dependencies (pip install --no-index --find-links)
#   --foreground      on the CPU: train here, not in the background
#   TRAIN_OPTIONS     passed to depth-completion train, e.g. --set run.batch_size=8
#
# What it assumes (there is no network): a Python >= 3.10 ($PYTHON, default python3) whose
# torch is a CUDA build: torch is never downloaded; it comes from that Python (system or
# preinstalled environment) or from a torch wheel and its dependencies in --wheels. numpy,
# opencv (cv2) and PyYAML come from that Python too, else from --wheels (pinned as in
# requirements-venv.txt when the wheelhouse has those versions); tqdm and tensorboard are
# optional. When something is missing, a venv is made in the checkout's out/venv-gpu (or
# $GPU_VENV) with --system-site-packages (the machine's torch stays visible) and only the missing
# packages go into it. The package itself is not installed: it runs from this checkout
# (PYTHONPATH). The data the config names must be on the machine (the shipped recipe reads
# ../shared/data). Make a wheelhouse on a machine with network, for the target's Python, e.g.
#   pip download -d wheels --only-binary=:all: --python-version 3.12 \
#       --platform manylinux2014_x86_64 numpy==2.2.6 opencv-python-headless==4.12.0.88 PyYAML==6.0.3
set -euo pipefail

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit "${1:-0}"; }
fail() { echo "gpu_train: error: $*" >&2; exit 1; }

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SELF=$REPO/tools/gpu_train.sh
ARGS=("$@")
CONFIG=$REPO/config/train/cspn_small_selfsup.yaml MINUTES="" OUT="" GPUS="" PRECISION="" WHEELS=""
BASELINES="classical ip_basic nearest" FOREGROUND=0 EXTRA=()
while (($#)); do
  case "$1" in
    --config) CONFIG=$2; shift 2 ;;
    --minutes) MINUTES=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --gpus) GPUS=$2; shift 2 ;;
    --precision) PRECISION=$2; shift 2 ;;
    --baselines) BASELINES=$2; shift 2 ;;
    --wheels) WHEELS=$2; shift 2 ;;
    --foreground) FOREGROUND=1; shift ;;
    -h|--help) usage ;;
    --) shift; EXTRA=("$@"); break ;;
    *) echo "gpu_train: unknown option $1" >&2; usage 2 ;;
  esac
done
[[ -f $CONFIG ]] || fail "no config $CONFIG"
OUT=${OUT:-out/gpu_train/$(basename "${CONFIG%.*}")}
mkdir -p "$OUT"
START=$SECONDS

# --- set-up: a Python that imports torch, numpy, cv2, yaml ---------------------------------------
PY=${PYTHON:-python3}
command -v "$PY" >/dev/null || fail "no $PY: set PYTHON to a Python >= 3.10 with torch"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 10))' \
  || fail "$PY is Python $("$PY" -c 'import platform; print(platform.python_version())'), 3.10+ needed"
missing() {
  "$1" -c 'import importlib.util as u, sys
print(" ".join(m for m in sys.argv[1:] if u.find_spec(m) is None))' torch numpy cv2 yaml
}
MISSING=$(missing "$PY")
if [[ -n $MISSING ]]; then
  VENV=${GPU_VENV:-$REPO/out/venv-gpu}
  echo "gpu_train: $PY lacks: $MISSING; setting up $VENV (--system-site-packages)"
  [[ -x $VENV/bin/python ]] || "$PY" -m venv --system-site-packages "$VENV" \
    || fail "cannot create a venv with $PY (Debian / Ubuntu: apt-get install python3-venv)"
  PY=$VENV/bin/python
  MISSING=$(missing "$PY")
  for module in $MISSING; do
    case $module in cv2) name=opencv-python-headless ;; yaml) name=PyYAML ;; *) name=$module ;; esac
    [[ -n $WHEELS ]] || fail "missing $MISSING and no --wheels DIR to install from (no network)"
    pinned=$(grep -i "^$name==" "$REPO/requirements-venv.txt" || echo "$name")
    "$PY" -m pip install --quiet --no-index --find-links "$WHEELS" "$pinned" \
      || "$PY" -m pip install --quiet --no-index --find-links "$WHEELS" "$name" \
      || fail "$name is neither importable nor in $WHEELS"
  done
  MISSING=$(missing "$PY")
  [[ -z $MISSING ]] || fail "still missing after the set-up: $MISSING"
fi
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
PROBE=$("$PY" -c 'import torch
n = torch.cuda.device_count() if torch.cuda.is_available() else 0
print(torch.__version__, n, int(n > 0 and torch.cuda.is_bf16_supported()))') \
  || fail "$PY cannot import torch"
read -r TORCH CUDA_GPUS BF16 <<<"$PROBE"
echo "gpu_train: $("$PY" -c 'import sys; print(sys.executable)') torch $TORCH, $CUDA_GPUS CUDA" \
     "device(s); set-up $((SECONDS - START)) s"

# --- without a GPU: the same config on the CPU, in the background unless --foreground ---------------
if [[ $CUDA_GPUS == 0 && $FOREGROUND == 0 ]]; then
  LOG=$OUT/gpu_train.log
  nohup "$SELF" --foreground "${ARGS[@]}" >"$LOG" 2>&1 &
  echo "gpu_train: no CUDA device: training on the CPU in the background (pid $!); follow it" \
       "with: tail -f $LOG"
  exit 0
fi
if [[ $CUDA_GPUS == 0 ]]; then
  DEVICE=cpu NPROC=1 PRECISION=${PRECISION:-fp32}
else
  DEVICE=cuda NPROC=${GPUS:-$CUDA_GPUS} MINUTES=${MINUTES:-6}
  ((NPROC <= CUDA_GPUS)) || fail "--gpus $NPROC but $CUDA_GPUS GPU(s) visible"
  if [[ -z $PRECISION ]]; then PRECISION=$([[ $BF16 == 1 ]] && echo bf16 || echo fp16); fi
  command -v nvidia-smi >/dev/null && nvidia-smi -L
fi

# --- train -------------------------------------------------------------------------------------
TRAIN=(train --config "$CONFIG" --out "$OUT" --set "run.device=$DEVICE"
       --set "run.precision=$PRECISION")
if [[ -n $MINUTES ]]; then TRAIN+=(--set "run.max_minutes=$MINUTES"); fi
if [[ -f $OUT/state.pt ]]; then TRAIN+=(--resume "$OUT"); echo "gpu_train: resuming $OUT"; fi
TRAIN+=("${EXTRA[@]}")
if ((NPROC > 1)); then
  LAUNCH=("$PY" -m torch.distributed.run --standalone "--nproc_per_node=$NPROC"
          -m depth_completion_ros.cli.main)
else
  LAUNCH=("$PY" -m depth_completion_ros.cli.main)
fi
BUDGET="max_steps of the config"
if [[ -n $MINUTES ]]; then BUDGET="$MINUTES minutes"; fi
echo "gpu_train: $DEVICE x $NPROC, $PRECISION, $BUDGET -> $OUT"
TRAIN_START=$SECONDS
if [[ -n $MINUTES ]]; then  # a safety net past the budget: SIGINT saves the state (one process)
  LIMIT=$("$PY" -c "print(int(float('$MINUTES') * 60 + 240))")
  timeout --signal=INT --kill-after=30 "$LIMIT" "${LAUNCH[@]}" "${TRAIN[@]}" \
    || fail "training ended with status $? (124: stopped $LIMIT s after its start)"
else
  "${LAUNCH[@]}" "${TRAIN[@]}" || fail "training ended with status $?"
fi
echo "gpu_train: training $((SECONDS - TRAIN_START)) s"

# --- evaluate: the exported checkpoint through the registry, next to the baselines --------------
CHECKPOINT=$OUT/best.pt
[[ -f $CHECKPOINT ]] || CHECKPOINT=$OUT/last.pt
EVAL_START=$SECONDS
read -r -a BASE <<<"$BASELINES"
"$PY" "$REPO/tools/score_checkpoint.py" "$CHECKPOINT" --device "$DEVICE" --json "$OUT/scores.json" \
  --baselines "${BASE[@]}"
echo "gpu_train: evaluation $((SECONDS - EVAL_START)) s"

# --- exports -----------------------------------------------------------------------------------
for file in "$OUT"/best.pt "$OUT"/last.pt; do
  if [[ -f $file ]]; then
    echo "gpu_train: deployable checkpoint $file ($(du -h "$file" | cut -f1))"
  fi
done
echo "gpu_train: scores in $OUT/scores.json; done in $((SECONDS - START)) s"
