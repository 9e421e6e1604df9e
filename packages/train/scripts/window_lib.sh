# Shared by gpu_sweep.sh and gpu_window.sh (sourced, not run): several training runs at once
# on one GPU, each a normal run dir under $RUNS/<name> with its log beside it, then every run
# dir packed without its Adam checkpoint, weights in float16, into $OUT/<name>.tgz
# (+ meta.tgz: exit codes, GPU use).
# The caller sets RUNS, OUT, PY, SCALE, COMMON (settings of every run) and SMALL (smoke test).
export PYTHONPATH=packages/core/src:packages/train/src PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
mkdir -p "$RUNS" "$OUT"
rm -f "$RUNS/rc.txt"
m() { awk "BEGIN{print $1 * $SCALE}"; }  # minutes scaled by $SCALE
SESSION=$(m "${SESSION_MINUTES:-8.4}")  # each run's wall-clock budget
PIDS=()

# launch NAME CONFIG [--set ...]: start one run in the background.
launch() {
  local name=$1
  shift
  (
    "$PY" -m explorable_jpeg_train "$@" "${COMMON[@]}" \
      --set "run_dir=\"$RUNS/$name\"" --resume --session-minutes "$SESSION" \
      "${SMALL[@]}" >"$RUNS/$name.log" 2>&1
    echo "$name rc=$?" >>"$RUNS/rc.txt"
  ) &
  PIDS+=($!)
}

# finish: wait for every run (logging GPU use), pack the run dirs into $OUT, print the tails.
finish() {
  local smi=""
  if command -v nvidia-smi >/dev/null; then
    nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv -l 30 >"$RUNS/gpu.csv" &
    smi=$!
  fi
  wait "${PIDS[@]}"
  [ -n "$smi" ] && kill "$smi"
  sort "$RUNS/rc.txt"
  # weights to float16 (what export ships; keeps a 160 × 10 run under the 16 MiB per file
  # that comes back from $OUT); the float32 Adam checkpoints stay behind
  "$PY" - "$RUNS" <<'PYEOF'
import sys
from pathlib import Path

import numpy as np

for f in Path(sys.argv[1]).glob("*/*/*.npz"):
    with np.load(f) as z:
        arrays = {k: z[k].astype(np.float16) if z[k].dtype == np.float32 else z[k] for k in z}
    np.savez(f, **arrays)
PYEOF
  local d name
  for d in "$RUNS"/*/; do
    name=$(basename "$d")
    tar czf "$OUT/$name.tgz" -C "$RUNS" --exclude=checkpoint.npz "$name" "$name.log"
  done
  tar czf "$OUT/meta.tgz" -C "$RUNS" rc.txt $(cd "$RUNS" && ls gpu.csv 2>/dev/null)
  ls -la "$OUT"
  for f in "$RUNS"/*.log; do echo "== $f"; tail -n 3 "$f"; done
}
