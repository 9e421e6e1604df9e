#!/usr/bin/env bash
# The next GPU window (about 8 minutes of training on one H100/H200), prepared on CPU.
# Three luma nets *grown* from l1 v2 (96 × 5, plateaued at +0.82 dB on the probe) by
# function-preserving growth (grow.py: they start exactly at v2's output), trained under
# bfloat16 autocast (l1.amp), with the extra photos; luma then chroma (v2's chroma net,
# fine-tuned on the new luma):
# * grow128    — 128 × 8, batch 48 of 160², Adam 1e-4;
# * grow160    — 160 × 10 (9.6 MB in fp16; still well under 0.5 s per 512² colour decode
#                on 2 cores), the same;
# * grow128_b96 — 128 × 8, batch 96 (the CPU pilot's first hundred steps fell from +0.82 to
#                 +0.78 dB: is that the batch noise of a warm restart?).
# (The 128 × 8 net of the 2026-11-26 sweep trained from scratch, +0.618 dB after 7 k steps,
# is in packages/train/checkpoints/l1_128x8; growing v2 starts 0.2 dB higher.)
# (Not a quality curriculum: fine-tuning l1 v2 on QF 5–60 only, 15 CPU-min, ~4 k steps of
# 96² × 16, left QF 10 unchanged and lowered QF 30 on eval2 from +0.469 to +0.452 dB.)
# (The GAN's perceptual term needs stlpips-pytorch's weights, 10–59 MB, which do not fit in
# the carry next to the data: it trains on CPU.)
#
# Every run dir is packed without its Adam checkpoint into $OUT/<name>.tgz; export and the
# evaluation run afterwards on CPU (jpeglib/safetensors/stlpips are not on the GPU box):
#   python -m explorable_jpeg_train.export runs/window/grow128/l1 /tmp/exp
#
#   OUT=/tmp/out bash packages/train/scripts/gpu_window.sh                     # GPU window
#   SCALE=0.02 SMOKE=1 OUT=/tmp/out PY=python bash packages/train/scripts/gpu_window.sh  # CPU test
#
# Carry: data_cache/train, data_cache/train_extra, data_cache/val_probe (46 MiB; the
# checkpoint and the bundled weights are tracked files and travel anyway: with the 13 MiB of
# tracked files that is 59 of the 64 MiB a call may send on 2026-11-26 — drop train_extra
# from the carry and from COMMON if the tree grows).
set -u
OUT=${OUT:-runs/window_out}
PY=${PY:-python3}
SCALE=${SCALE:-1}
SMOKE=${SMOKE:-0}
RUNS=runs/window
COMMON=(--set 'data.val="data_cache/val_probe"' --set eval_every=100 --set probe_crop=160
        --set 'data.extra=["data_cache/train_extra"]')
SMALL=()
if [ "$SMOKE" = 1 ]; then
  SMALL=(--set data.crop=32 --set data.batch=2 --set probe_batch=2 --set eval_every=2
         --set log_every=1 --set probe_crop=32)
fi

source "$(dirname "$0")/window_lib.sh"

L1=packages/train/configs/l1.toml
GROW=(--set 'l1.init="weights/l1"' --set l1.grow=true --set l1.amp=true
      --set 'phases=["l1_luma", "l1_chroma"]' --set l1.lr=1e-4 --set l1.warmup=200
      --set "l1.luma_minutes=$(m 6.4)" --set "l1.chroma_minutes=$(m 1.4)")
launch grow128 "$L1" "${GROW[@]}" --set model.luma_channels=128 --set model.luma_blocks=8
launch grow160 "$L1" "${GROW[@]}" --set model.luma_channels=160 --set model.luma_blocks=10
launch grow128_b96 "$L1" "${GROW[@]}" --set model.luma_channels=128 --set model.luma_blocks=8 \
  --set data.batch=96

finish
