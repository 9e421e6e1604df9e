"""One optimisation of an :class:`~explorable_jpeg.Explorer`'s state inside a selection.

:func:`optimize` crops the code to the selection's MCUs plus a margin (:func:`crop_for`),
runs the z phase (:func:`.loop.optimize_z`) through the network on the crop and then the
field phase (:func:`.field.optimize_field`), and returns every output's full-size
:class:`~.state.State`. The loss of a crop's decoding ``x`` is

    L(x) = objective(x) / s + λ · mean_{outside}(ρ(x − x₀)),

``ρ`` the Charbonnier penalty, ``x₀`` the starting decoding, ``s`` the objective's scale at
the start and ``λ`` the objective's preservation weight. The mean outside is taken over the
pixels of the crop with ``margin_blocks`` of context; when only the field phase runs (no z
iterations, z kept), the crop has :data:`~.loop.FIELD_MARGIN_BLOCKS` only: outside the
selection's MCUs the output is then exactly ``x₀`` (``ρ = 0``), so ``L`` and its gradient
are those of the larger crop, for a fraction of the pixels.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from explorable_jpeg.consistency.projection import displace
from explorable_jpeg.explore.field import optimize_field
from explorable_jpeg.explore.loop import (
    FIELD_MARGIN_BLOCKS,
    Z_SHARE,
    OptimizeResult,
    Progress,
    charbonnier,
    frozen,
    optimize_z,
)
from explorable_jpeg.explore.objectives import Objective, Region
from explorable_jpeg.explore.objectives._ops import planes_to_rgb
from explorable_jpeg.explore.objectives.base import ExplorationError
from explorable_jpeg.explore.objectives.base import Objective as BaseObjective
from explorable_jpeg.explore.selection import as_mask, bbox, block_mask, dilate, mcu_pixel_mask
from explorable_jpeg.explore.state import State, stored_field
from explorable_jpeg.jpeg.code import JpegCode

if TYPE_CHECKING:
    from explorable_jpeg.decoding.decoder import Decoder
    from explorable_jpeg.explore.explorer import Explorer

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class Crop:
    """The part of the code an optimisation works on: whole MCUs, at pixel ``(y0, x0)``;
    ``zy``/``zx`` are its block rows/columns in the full z."""

    code: JpegCode
    y0: int
    x0: int
    zy: slice
    zx: slice

    @property
    def ys(self) -> slice:
        return slice(self.y0, self.y0 + self.code.height)

    @property
    def xs(self) -> slice:
        return slice(self.x0, self.x0 + self.code.width)


def crop_for(decoder: Decoder, code: JpegCode, blocks: np.ndarray, margin_blocks: int) -> Crop:
    """The MCU-aligned crop holding the selected ``blocks`` and ``margin_blocks`` around."""
    mh, mw = code.mcu_size
    by0, bx0, by1, bx1 = bbox(blocks)
    py0 = max(0, (by0 - margin_blocks) * 8)
    px0 = max(0, (bx0 - margin_blocks) * 8)
    py1 = min(code.height, (by1 + margin_blocks) * 8)
    px1 = min(code.width, (bx1 + margin_blocks) * 8)
    r0, c0 = py0 // mh, px0 // mw
    r1, c1 = math.ceil(py1 / mh), math.ceil(px1 / mw)
    crop = code.crop_mcus(r0, c0, r1, c1)
    zb = decoder.z_shape(crop)
    y0, x0 = r0 * mh, c0 * mw
    return Crop(crop, y0, x0, slice(y0 // 8, y0 // 8 + zb[1]), slice(x0 // 8, x0 // 8 + zb[2]))


def decode_rgb(
    decoder: Decoder, crop: JpegCode, z: torch.Tensor, field: torch.Tensor | None
) -> torch.Tensor:
    """RGB ``(N, 3, H, W)`` on [0, 1] of ``P_C(ψ(crop, z_n) + field)`` for each ``z_n``."""
    planes = torch.stack([decoder.decode_planes(crop, zi, tile_blocks=None) for zi in z])
    if field is not None:
        planes = displace(planes, field.to(planes), crop)
    return planes_to_rgb(planes, crop)


def optimize(
    ex: Explorer,
    objective: Objective,
    mask: Any,
    budget_s: float,
    max_iters: int,
    progress: Progress | None,
    cancel: threading.Event | None,
    margin_blocks: int,
    z_halo_blocks: int,
    preserve_weight: float | None,
    seed: int,
    reach: float,
    field_iters: int,
    field_prior: float | None,
) -> OptimizeResult:
    """The body of :meth:`Explorer.optimize <explorable_jpeg.Explorer.optimize>` (which
    documents the arguments); it does not commit the result."""
    t0 = time.perf_counter()
    reach = float(reach)
    if not (math.isfinite(reach) and 0.0 <= reach <= 1.0):
        raise ExplorationError(f"reach must be in [0, 1], got {reach}")
    use_field = reach > 0 and field_iters > 0
    decoder, state = ex.decoder, ex.state
    pix = as_mask(mask, ex.shape)
    blocks = block_mask(pix, ex.code.padded_size())
    crop = crop_for(decoder, ex.code, blocks, margin_blocks)
    n_crop = crop.code.height * crop.code.width  # the normaliser's crop (see the docstring)
    keeps_z = type(objective).initial_z is BaseObjective.initial_z
    if use_field and max_iters == 0 and keeps_z and margin_blocks > FIELD_MARGIN_BLOCKS:
        crop = crop_for(decoder, ex.code, blocks, FIELD_MARGIN_BLOCKS)
    h, w = crop.code.height, crop.code.width
    dev = decoder.device
    bm = torch.as_tensor(blocks[crop.zy, crop.zx], device=dev)
    snapped = bm.repeat_interleave(8, 0).repeat_interleave(8, 1)[:h, :w].float()
    n_outside = max(n_crop - float(snapped.sum()), 1.0)
    editable = dilate(bm, z_halo_blocks)[None]
    z0 = state.z[:, crop.zy, crop.zx].to(dev)
    field0 = None
    if state.field is not None:
        field0 = state.field[:, crop.ys, crop.xs].float().to(dev)
    lam = objective.preserve_weight if preserve_weight is None else float(preserve_weight)
    gen = torch.Generator().manual_seed(int(seed))
    z_deadline = t0 + budget_s * (Z_SHARE if use_field else 1.0)
    with frozen(decoder), torch.enable_grad(), torch.device(dev):
        planes0 = ex.state_planes(state)[:, crop.ys, crop.xs].to(dev)
        rgb0 = planes_to_rgb(planes0, crop.code)
        region = Region(
            rgb0=rgb0,
            mask=snapped,
            pixel_mask=torch.as_tensor(pix[crop.ys, crop.xs], device=dev).float(),
            code=crop.code,
            origin=(crop.y0, crop.x0),
        )
        objective.prepare(region)
        outside = 1.0 - snapped
        scale = [1.0]

        def total_rgb(rgb: torch.Tensor, ref: torch.Tensor = rgb0) -> torch.Tensor:
            keep = (charbonnier(rgb - ref) * outside).sum() / (
                n_outside * rgb.shape[0] * rgb.shape[1]
            )
            return objective.loss(rgb) / scale[0] + lam * keep

        zi = objective.initial_z(z0.cpu(), bm[None].cpu(), gen).to(z0)
        zi = torch.where(editable, zi, z0[None])
        starts_here = torch.equal(zi, z0[None].expand_as(zi))
        n_z = max_iters if (max_iters > 0 or not starts_here) else 0
        with torch.no_grad():
            # the z phase sees the network on the crop: its reference is the crop's
            # decoding (equal to the image's away from the crop's border)
            ref_z = decode_rgb(decoder, crop.code, z0[None], field0)[0] if n_z else rgb0
            rgb_i = ref_z[None] if starts_here else decode_rgb(decoder, crop.code, zi, field0)
            scale[0] = objective.scale(rgb0[None] if starts_here else rgb_i)
            loss_start = float(total_rgb(rgb0[None] if starts_here else rgb_i))
            loss_start_z = float(total_rgb(rgb_i, ref_z)) if n_z else loss_start
        logger.info("optimize %s: crop %dx%d, start loss %.5g, reach %.2f",
                    type(objective).__name__, w, h, loss_start, reach)  # fmt: skip

        def frac_z(it: int) -> float:
            span = budget_s * (Z_SHARE if use_field else 1.0)
            f = max(it / max(n_z, 1), (time.perf_counter() - t0) / max(span, 1e-9))
            return min(f, 1.0) * (Z_SHARE if use_field else 1.0)

        z_best, loss_z, it, cancelled = zi, loss_start_z, 0, False
        if n_z > 0:
            z_best, loss_z, it, cancelled = optimize_z(
                lambda zs: total_rgb(decode_rgb(decoder, crop.code, zs, field0), ref_z),
                zi, z0, editable, loss_start_z, max_iters=n_z, deadline=z_deadline,
                budget_progress=frac_z, progress=progress, cancel=cancel,
            )  # fmt: skip
        z_full = []
        for zb in z_best.cpu():
            zf = state.z.clone()
            zf[:, crop.zy, crop.zx] = zb
            z_full.append(zf)
        fields = [state.field] * len(z_full)
        loss_best, f_iters = loss_z, 0
        if not use_field:
            loss_start = loss_start_z
        elif not cancelled:
            loss_best, f_iters, cancelled, fields = field_phase(
                ex, objective, total_rgb, crop, z_full, bm, reach, gen,
                field_iters, t0 + budget_s, progress, cancel,
                objective.field_prior if field_prior is None else float(field_prior),
            )  # fmt: skip
            if loss_best >= loss_start and starts_here:  # nothing gained: keep the state
                z_full = [state.z.clone() for _ in z_full]
                fields = [state.field] * len(z_full)
    states = [State(z, f) for z, f in zip(z_full, fields, strict=True)]
    result = OptimizeResult(
        loss_start, loss_best, it, time.perf_counter() - t0, cancelled,
        z_full, states, loss_z, f_iters, reach,
    )  # fmt: skip
    logger.info("optimize: %d z + %d field iterations, loss %.5g → %.5g (z phase %.5g) "
                "in %.1fs", it, f_iters, loss_start, result.loss_best, loss_z,
                result.seconds)  # fmt: skip
    return result


def field_phase(
    ex: Explorer,
    objective: Objective,
    total_rgb: Any,
    crop: Crop,
    z_full: list[torch.Tensor],
    bm: torch.Tensor,
    reach: float,
    gen: torch.Generator,
    iters: int,
    deadline: float,
    progress: Progress | None,
    cancel: threading.Event | None,
    prior: float,
) -> tuple[float, int, bool, list[torch.Tensor | None]]:
    """Run :func:`.field.optimize_field` on the crop for every output's z; returns the best
    loss, the iterations, whether it was cancelled and every output's full-size field."""
    state = ex.state
    psi, base = [], []
    for z in z_full:  # one network decode per z (the cache holds the last one)
        psi.append(ex.network_planes(z)[:, crop.ys, crop.xs])
        base.append(ex.state_planes(State(z, state.field))[:, crop.ys, crop.xs])
    base_t = torch.stack(base).to(ex.decoder.device)
    h, w = crop.code.height, crop.code.width
    editable = mcu_pixel_mask(bm, crop.code.mcu_size)[:h, :w]
    init = objective.initial_field(base_t, editable, gen)
    t_start = time.perf_counter()
    span = max(deadline - t_start, 1e-9)

    def tick(it: int) -> None:
        if progress is not None:
            f = max(it / iters, (time.perf_counter() - t_start) / span)
            progress(Z_SHARE + (1 - Z_SHARE) * min(f, 1.0), f"field step {it}")

    res = optimize_field(
        total_rgb, base_t, crop.code, editable, reach, init=init, prior=prior,
        smooth=objective.field_smoothing, luma_only=objective.field_luma_only,
        residual=objective.field_residual,
        max_iters=iters, deadline=deadline, cancel=cancel, progress=tick,
    )  # fmt: skip
    fields: list[torch.Tensor | None] = []
    for k, p in enumerate(psi):
        f = state.field_or_zeros(ex.field_shape).clone()
        f[:, crop.ys, crop.xs] = res.planes[k].cpu() - p
        fields.append(stored_field(f))
    return res.loss_best, res.iterations, res.cancelled, fields
