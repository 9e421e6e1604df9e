#!/usr/bin/env bash
# The next GPU window, prepared on CPU. Window 1 (2026-11-26, 8 min on one H200) grew
# l1 v2 (96 × 5, plateaued at +0.82 dB on the probe) by function-preserving growth
# (grow.py: the grown net starts exactly at v2's output) into 128 × 8 (batch 48: +0.965 dB;
# batch 96: +0.977) and 160 × 10 (batch 48: +1.064 dB, still rising), bfloat16 autocast,
# extra photos, 6.4 + 1.4 min each with three runs sharing the GPU; 160 × 10 became l1 v3.
# Window 2 (this script with the short settings below, about 4 minutes) continued it from
# weights/l1 with a warm restart, two runs sharing the GPU; by default the script now gives
# the next window 6.4 + 1.4 minutes to continue l1 v3 (still rising at the end of window 2):
# * cont_b96  — batch 96, Adam 1e-4 (batch 96 beat 48 at 128 × 8 in window 1);
# * cont_lr5  — batch 96, Adam 5e-5 (a smaller dip after the restart?).
# (Not a quality curriculum: fine-tuning l1 v2 on QF 5–60 only, 15 CPU-min, ~4 k steps of
# 96² × 16, left QF 10 unchanged and lowered QF 30 on eval2 from +0.469 to +0.452 dB.)
# (The GAN's perceptual term needs stlpips-pytorch's weights, 10–59 MB, which do not fit in
# the carry next to the data: it trains on CPU.)
#
# Every run dir is packed without its Adam checkpoint into $OUT/<name>.tgz; export and the
# evaluation run afterwards on CPU (jpeglib/safetensors/stlpips are not on the GPU box):
#   python -m explorable_jpeg_train.export runs/window/cont_b96/l1 /tmp/exp
#
#   OUT=/tmp/out bash packages/train/scripts/gpu_window.sh      # a full window (timeout_s 570)
#   LUMA_MINUTES=3.0 CHROMA_MINUTES=0.5 SESSION_MINUTES=3.9 OUT=/tmp/out \
#     bash packages/train/scripts/gpu_window.sh                  # window 2 as run (285 s)
#   SCALE=0.02 SMOKE=1 OUT=/tmp/out PY=python bash packages/train/scripts/gpu_window.sh  # CPU test
#   WINDOW=gan OUT=/tmp/out bash packages/train/scripts/gpu_window.sh  # the gan on l1 v3
#   WINDOW=gan_perc SESSION_MINUTES=7.0 OUT=/tmp/out bash packages/train/scripts/gpu_window.sh
#       # gan v5 as run on 2026-11-27 (timeout_s 540, carry data_cache/gpu_perc only)
#   WINDOW=gan_ema SESSION_MINUTES=7.0 OUT=/tmp/out bash packages/train/scripts/gpu_window.sh
#       # gan window 4 (timeout_s 540, carry data_cache/gpu_perc without extra/)
#   WINDOW=gan_cap SESSION_MINUTES=5.5 OUT=/tmp/out bash packages/train/scripts/gpu_window.sh
#       # gan window 5 (timeout_s 400, the same carry)
#   WINDOW=gan_next SESSION_MINUTES=7.0 OUT=/tmp/out bash packages/train/scripts/gpu_window.sh
#       # prepared, not run (timeout_s 540, the same carry)
#
# Carry: data_cache/train and data_cache/val_probe (39 MiB). The bundled weights are tracked
# files and travel anyway: 22.5 MiB since gan v5, so data_cache/train_extra (another 9 MiB)
# no longer fits the 64 MiB a call may send; the script uses it only when it is there. Runs
# start from tracked weights, not from a carried run dir, for that reason.
set -u
OUT=${OUT:-runs/window_out}
PY=${PY:-python3}
SCALE=${SCALE:-1}
SMOKE=${SMOKE:-0}
RUNS=runs/window
# extra_if DIR: `data.extra` with DIR when it was carried, else empty (see Carry above)
extra_if() { if [ -d "$1" ]; then echo "[\"$1\"]"; else echo "[]"; fi; }
COMMON=(--set 'data.val="data_cache/val_probe"' --set eval_every=100 --set probe_crop=160
        --set "data.extra=$(extra_if data_cache/train_extra)")
SMALL=()
if [ "$SMOKE" = 1 ]; then
  SMALL=(--set data.crop=32 --set data.batch=2 --set probe_batch=2 --set eval_every=2
         --set log_every=1 --set probe_crop=32)
fi

source "$(dirname "$0")/window_lib.sh"

# perc_setup: the gan windows' data (pack_perceptual.py --photos, carried as
# data_cache/gpu_perc: int8 VGG ST-LPIPS, the package's sources, the photos as lossless WebP).
# With the 22.5 MiB of tracked files, 46.7 MiB is over the 64 MiB a call carries:
# `rm -r data_cache/gpu_perc/extra` before the call (39.9 MiB).
perc_setup() {
  P=${PERC_DIR:-data_cache/gpu_perc}
  "$PY" -c "from PIL import features; assert features.check('webp'), 'Pillow without WebP'" || exit 3
  "$PY" packages/train/scripts/pack_perceptual.py "$P" --unpack || exit 4
  export PYTHONPATH="$P/pylib:$PYTHONPATH"
  COMMON=(--set "data.train=\"$P/train\"" --set "data.extra=$(extra_if "$P/extra")" --set 'data.val=""'
          --set eval_every=200 --set probe_crop=128 --set data.min_scale=0.25)
}

if [ "${WINDOW:-l1}" = gan_next ]; then
  # WINDOW=gan_next (prepared in the tenth session, not yet run): after gan v6 (a soup at
  # t = 0.35 of the cap-6 and cap-7 runs of WINDOW=gan_cap, chosen on the evaluation sets):
  # * n_c63    — one run at the soup's cap (6.35) instead of two runs and a soup, 6.3 min;
  # * n_c63p25 — the same with w_perc 250 (lower ST-LPIPS at the same variation?);
  # * n_c65s1  — cap 6.5, seed 1 (how much of the window's spread is the seed);
  # * chroma   — the chroma net conditioned on v6's luma (weights/gan), v5's chroma recipe
  #              (w_perc 30, w_div 1, div_cap_chroma 2, p_gt_luma 0.5 as in gan_perc).
  perc_setup
  LM=$(m "${LUMA_MINUTES:-6.3}")
  CFG=packages/train/configs/gan_v6.toml
  V6=(--set 'gan.init="weights/l1"' --set "gan.luma_minutes=$LM" --set gan.luma_steps=0)
  launch n_c63 "$CFG" "${V6[@]}" --set gan.div_cap=6.35
  launch n_c63p25 "$CFG" "${V6[@]}" --set gan.div_cap=6.35 --set gan.w_perc=250.0
  launch n_c65s1 "$CFG" "${V6[@]}" --set gan.div_cap=6.5 --set seed=1
  launch chroma "$CFG" --set 'gan.init="weights/gan"' --set 'gan.chroma_init="weights/l1"' \
    --set 'phases=["gan_luma", "gan_chroma"]' --set gan.luma_steps=1 --set gan.w_perc=30.0 \
    --set gan.w_div=1.0 --set gan.div_cap_chroma=2.0 --set "gan.chroma_minutes=$LM"
  finish
  exit 0
fi

if [ "${WINDOW:-l1}" = gan_cap ]; then
  # WINDOW=gan_cap (tenth session, 2026-11-27, after gan_ema): every gan_ema run ended with its
  # diversity ratio at the cap (8) and more variation than v5 (files, gray QF 10, val / eval2:
  # std 4.4–6.1 / 5.6–7.8); w_perc 200 brought val's ST-LPIPS below libjpeg's (0.1084 vs
  # 0.1114) but not eval2's (0.0868 vs 0.0675: its castle and bridge lose with variation).
  # A lower cap bounds the variation the diversity term asks for:
  # * c6_p200 / c7_p200 — w_perc 200, div_cap 6 / 7;  * c5_p300 / c6_p300 — w_perc 300.
  perc_setup
  LM=$(m "${LUMA_MINUTES:-5.0}")
  CFG=packages/train/configs/gan_v5.toml
  V5=(--set 'gan.init="weights/l1"' --set "gan.luma_minutes=$LM" --set gan.luma_steps=0
      --set gan.ema=0.995)
  launch c6_p200 "$CFG" "${V5[@]}" --set gan.w_perc=200.0 --set gan.div_cap=6.0
  launch c7_p200 "$CFG" "${V5[@]}" --set gan.w_perc=200.0 --set gan.div_cap=7.0
  launch c5_p300 "$CFG" "${V5[@]}" --set gan.w_perc=300.0 --set gan.div_cap=5.0
  launch c6_p300 "$CFG" "${V5[@]}" --set gan.w_perc=300.0 --set gan.div_cap=6.0
  finish
  exit 0
fi

if [ "${WINDOW:-l1}" = gan_ema ]; then
  # WINDOW=gan_ema (prepared 2026-11-27, eighth session): gan v5's recipe with a
  # weight average of the generator (`[gan] ema`, ema.py). v5 is a snapshot of an oscillating
  # run (its continuations swung to std 5.5–6.8 and −2 dB); the average of the last ~200
  # steps should land between the swings. Same data and carry as WINDOW=gan_perc. Four
  # luma runs (gan v5's chroma stays):
  # * e_v5rec  — v5's recipe (from weights/l1 = v4.2, z weights zero) + ema 0.995;
  # * e_p200   — the same with w_perc 200 (v5's sweep: w_perc 30 → 100 took AlexNet ST-LPIPS
  #              from 0.152 to 0.116 on val; libjpeg's 0.111 is still ahead);
  # * e_p200d5 — w_perc 200 and w_div 5 (std on val is 3.5, the target 4);
  # * e_p300d5 — w_perc 300 and w_div 5.
  # (Run in the tenth session, 2026-11-27; the eighth session's plan had w_adv 2 / w_zero 3 /
  # w_div 1.5 in place of the last three.)
  perc_setup
  LM=$(m "${LUMA_MINUTES:-6.3}")
  CFG=packages/train/configs/gan_v5.toml
  V5=(--set 'gan.init="weights/l1"' --set "gan.luma_minutes=$LM" --set gan.luma_steps=0)
  launch e_v5rec "$CFG" "${V5[@]}" --set gan.ema=0.995
  launch e_p200 "$CFG" "${V5[@]}" --set gan.ema=0.995 --set gan.w_perc=200.0
  launch e_p200d5 "$CFG" "${V5[@]}" --set gan.ema=0.995 --set gan.w_perc=200.0 --set gan.w_div=5.0
  launch e_p300d5 "$CFG" "${V5[@]}" --set gan.ema=0.995 --set gan.w_perc=300.0 --set gan.w_div=5.0
  finish
  exit 0
fi

if [ "${WINDOW:-l1}" = gan_perc ]; then
  # WINDOW=gan_perc (2026-11-27): the explorable decoder rebuilt on l1 v4 (160 × 10) WITH the
  # VGG perceptual term of gan v4's CPU stage, which needs the data of
  # `python packages/train/scripts/pack_perceptual.py --photos` (carry data_cache/gpu_perc:
  # int8 VGG ST-LPIPS + the package's sources + the photos as lossless WebP, 46.7 MiB; the
  # AlexNet ST-LPIPS stays the held-out metric, and the probe has none here). Four runs share
  # the GPU: three luma recipes and one chroma run (its luma condition is the committed
  # gan's luma, v4 when v5 was trained, kept by a one-step luma phase; p_gt_luma = 0.5
  # shows it the true luma half the time).
  perc_setup
  GP=(--set 'gan.init="weights/l1"' --set data.batch=32 --set data.crop=128
      --set gan.perc_net=\"vgg\" --set gan.perc_batch=16 --set gan.div_reduce=\"batch\"
      --set gan.adv_start=50 --set gan.w_div=3.0)
  LM=$(m "${LUMA_MINUTES:-6.3}")
  CFG=packages/train/configs/gan_perc.toml
  launch p30 "$CFG" "${GP[@]}" --set gan.w_perc=30.0 --set "gan.luma_minutes=$LM"
  launch p100 "$CFG" "${GP[@]}" --set gan.w_perc=100.0 --set "gan.luma_minutes=$LM"
  launch p30adv3 "$CFG" "${GP[@]}" --set gan.w_perc=30.0 --set gan.w_adv=3.0 \
    --set gan.lr_g=1e-4 --set "gan.luma_minutes=$LM"
  launch chroma "$CFG" "${GP[@]}" --set 'gan.init="weights/gan"' \
    --set 'gan.chroma_init="weights/l1"' --set 'phases=["gan_luma", "gan_chroma"]' \
    --set gan.luma_steps=1 --set gan.w_perc=30.0 --set gan.w_div=1.0 \
    --set gan.div_cap_chroma=2.0 --set "gan.chroma_minutes=$LM"
  finish
  exit 0
fi

if [ "${WINDOW:-l1}" = gan ]; then
  # WINDOW=gan: the explorable decoder rebuilt on l1 v3 (160 × 10; the shipped gan v4 is
  # 96 × 5, built on l1 v2, and its z = 0 decoding is 18 MSE behind l1 v3 on val). z weights
  # start at zero (gan.init = the l1 weights), the diversity term of gan v2's CPU stage
  # (w_div = 2) makes z matter, the adversarial weight of the 2026-11-26 sweep (w_adv = 1).
  # Luma only (the chroma phase follows on CPU or in the next window: chroma is 0.45 M).
  # The perceptual term stays off: stlpips-pytorch is not on the GPU box.
  GAN=(--set 'gan.init="weights/l1"' --set 'phases=["gan_luma"]' --set data.batch=32
       --set data.crop=128 --set "gan.luma_minutes=$(m "${LUMA_MINUTES:-7.8}")")
  launch gan_l1v3 packages/train/configs/gan.toml "${GAN[@]}" --set gan.w_div=2.0
  finish
  exit 0
fi

L1=packages/train/configs/l1.toml
CONT=(--set 'l1.init="weights/l1"' --set l1.amp=true --set 'phases=["l1_luma", "l1_chroma"]'
      --set l1.warmup=200 --set data.batch=96
      --set "l1.luma_minutes=$(m "${LUMA_MINUTES:-6.4}")"
      --set "l1.chroma_minutes=$(m "${CHROMA_MINUTES:-1.4}")")
launch cont_b96 "$L1" "${CONT[@]}" --set l1.lr=1e-4
launch cont_lr5 "$L1" "${CONT[@]}" --set l1.lr=5e-5

finish
