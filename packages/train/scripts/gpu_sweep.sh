#!/usr/bin/env bash
# One short GPU window, several runs at once on one GPU (small nets leave most of an H100/H200
# idle when run alone): L1 fine-tune of the bundled l1 with and without the extra photos, a
# larger L1 from scratch, and three GAN-phase adversarial weights. Each run is a normal
# `python -m explorable_jpeg_train` run dir under runs/sweep/<name>; at the end every run dir
# (without its Adam checkpoint) is packed into $OUT/<name>.tgz. Export and evaluation happen
# afterwards on CPU (jpeglib/safetensors are not needed here).
#
#   OUT=/tmp/out bash packages/train/scripts/gpu_sweep.sh                   # GPU window
#   SCALE=0.02 SMOKE=1 OUT=/tmp/out PY=python bash packages/train/scripts/gpu_sweep.sh  # CPU test
#
# Needs data_cache/train, data_cache/train_extra (prepare_extra), data_cache/val_probe.
set -u
OUT=${OUT:-runs/sweep_out}
PY=${PY:-python3}
SCALE=${SCALE:-1}
SMOKE=${SMOKE:-0}
RUNS=runs/sweep
COMMON=(--set 'data.val="data_cache/val_probe"' --set eval_every=100)
SMALL=()
if [ "$SMOKE" = 1 ]; then
  SMALL=(--set data.crop=32 --set data.batch=2 --set probe_batch=2 --set eval_every=2
         --set log_every=1 --set gan.n_critic=1 --set gan.z_steps=1
         --set gan.critic.channels=8 --set gan.critic.layers=2)
fi
EXTRA_DIR=${EXTRA_DIR:-data_cache/train_extra}
EXTRA=(--set "data.extra=[\"$EXTRA_DIR\"]")

source "$(dirname "$0")/window_lib.sh"

L1=packages/train/configs/l1.toml
GAN=packages/train/configs/gan.toml
L1_PHASES=(--set 'phases=["l1_luma", "l1_chroma"]'
           --set "l1.luma_minutes=$(m 5.6)" --set "l1.chroma_minutes=$(m 2.0)")
GAN_PHASES=(--set 'phases=["gan_luma", "gan_chroma"]'
            --set "gan.luma_minutes=$(m 5.3)" --set "gan.chroma_minutes=$(m 2.3)")
FT=(--set 'l1.init="packages/core/src/explorable_jpeg/weights/l1"' --set l1.lr=1e-4
    --set l1.warmup=100)

launch l1_ft_extra "$L1" "${L1_PHASES[@]}" "${FT[@]}" "${EXTRA[@]}"
launch l1_ft_base "$L1" "${L1_PHASES[@]}" "${FT[@]}"
BIG=(--set model.luma_channels=128 --set model.luma_blocks=8)
[ "$SMOKE" = 1 ] && BIG=(--set model.luma_channels=8 --set model.luma_blocks=2)
launch l1_128x8_extra "$L1" "${L1_PHASES[@]}" "${BIG[@]}" "${EXTRA[@]}"
launch gan_adv005 "$GAN" "${GAN_PHASES[@]}" "${EXTRA[@]}" --set gan.w_adv=0.05
launch gan_adv03 "$GAN" "${GAN_PHASES[@]}" "${EXTRA[@]}" --set gan.w_adv=0.3
launch gan_adv1 "$GAN" "${GAN_PHASES[@]}" "${EXTRA[@]}" --set gan.w_adv=1.0

finish
