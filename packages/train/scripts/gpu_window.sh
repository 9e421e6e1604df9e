#!/usr/bin/env bash
# The next GPU window (about 8 minutes of training on one H100/H200), prepared on CPU:
#
# * l1_big   — the 128 × 8 luma net of the 2026-11-26 sweep (committed, fp16, in
#              packages/train/checkpoints/l1_128x8: +0.618 dB on the probe after 7 k steps,
#              still rising), continued with a fresh warm-up + cosine cycle (a warm restart;
#              its Adam moments were not kept), with the extra photos; luma then chroma.
# * l1_big_b — the same with batch 96 at 1.4× the learning rate (does the bigger net want a
#              bigger batch once the GPU is not shared by six runs?).
# * l1_big_c — the same on 256² crops, batch 24 (the same pixels per step as 160² × 48 at
#              about 2.6× fewer crops): the 128 × 8 net sees 33 blocks (264 px) around a
#              block, so on 160² crops most of what it sees is padding.
# (Not a quality curriculum: fine-tuning l1 v2 on QF 5–60 only, 15 CPU-min, ~4 k steps of
# 96² × 16, left QF 10 unchanged and lowered QF 30 on eval2 from +0.469 to +0.452 dB.)
# (The GAN's perceptual term needs stlpips-pytorch's weights, 10–59 MB, which do not fit in
# the carry next to the data: it trains on CPU.)
#
# Every run dir is packed without its Adam checkpoint into $OUT/<name>.tgz; export and the
# evaluation run afterwards on CPU (jpeglib/safetensors/stlpips are not on the GPU box):
#   python -m explorable_jpeg_train.export runs/window/l1_big/l1 /tmp/exp
#   cp -r /tmp/exp/l1 packages/train/checkpoints/l1_128x8     # the next window goes on from it
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
BIG=(--set 'l1.init="packages/train/checkpoints/l1_128x8"' --set 'phases=["l1_luma", "l1_chroma"]'
     --set "l1.luma_minutes=$(m 6.4)" --set "l1.chroma_minutes=$(m 1.4)" --set l1.warmup=200)
launch l1_big "$L1" "${BIG[@]}" --set l1.lr=2e-4
launch l1_big_b "$L1" "${BIG[@]}" --set l1.lr=2.8e-4 --set data.batch=96
launch l1_big_c "$L1" "${BIG[@]}" --set l1.lr=2e-4 --set data.crop=256 --set data.batch=24

finish
