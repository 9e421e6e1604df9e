#!/usr/bin/env bash
# One GPU window: several training runs at once on one GPU (window_lib.sh), each run dir packed
# without its Adam checkpoint into $OUT/<name>.tgz; export and evaluation run afterwards on CPU.
# What each WINDOW ran, why, what it found, and its carry: docs/experiments.md.
#
#   OUT=/tmp/out bash packages/train/scripts/gpu_window.sh             # WINDOW=l1 (timeout_s 570)
#   WINDOW=gan_next SESSION_MINUTES=7.0 OUT=/tmp/out bash packages/train/scripts/gpu_window.sh
#   SCALE=0.02 SMOKE=1 OUT=/tmp/out PY=python bash packages/train/scripts/gpu_window.sh  # CPU test
#
# WINDOW: l1 (default), gan, gan_perc, gan_ema, gan_cap, gan_next. Carry: data_cache/train and
# data_cache/val_probe (l1; data_cache/train_extra is used when present), data_cache/gpu_perc
# (gan_*, without its extra/).
set -u
OUT=${OUT:-runs/window_out}
PY=${PY:-python3}
SCALE=${SCALE:-1}
SMOKE=${SMOKE:-0}
RUNS=runs/window
# extra_if DIR: `data.extra` with DIR when it was carried, else empty (see Carry)
extra_if() { if [ -d "$1" ]; then echo "[\"$1\"]"; else echo "[]"; fi; }
COMMON=(--set 'data.val="data_cache/val_probe"' --set eval_every=100 --set probe_crop=160
        --set "data.extra=$(extra_if data_cache/train_extra)")
SMALL=()
if [ "$SMOKE" = 1 ]; then
  SMALL=(--set data.crop=32 --set data.batch=2 --set probe_batch=2 --set eval_every=2
         --set log_every=1 --set probe_crop=32)
fi

source "$(dirname "$0")/window_lib.sh"

# perc_setup: the gan windows' data, data_cache/gpu_perc (pack_perceptual.py --photos)
perc_setup() {
  P=${PERC_DIR:-data_cache/gpu_perc}
  "$PY" -c "from PIL import features; assert features.check('webp'), 'Pillow without WebP'" || exit 3
  "$PY" packages/train/scripts/pack_perceptual.py "$P" --unpack || exit 4
  export PYTHONPATH="$P/pylib:$PYTHONPATH"
  COMMON=(--set "data.train=\"$P/train\"" --set "data.extra=$(extra_if "$P/extra")" --set 'data.val=""'
          --set eval_every=200 --set probe_crop=128 --set data.min_scale=0.25)
}

if [ "${WINDOW:-l1}" = gan_next ]; then
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
