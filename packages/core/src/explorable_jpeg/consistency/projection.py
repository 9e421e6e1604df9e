"""Projection onto the set of images consistent with a JPEG code.

For component ``i`` with table M, code q, box ``(fy, fx)`` and full-resolution plane ``x``
(level shift 128), the consistent set is

    C_i = { x : DCT₈ₓ₈(D_{fy,fx}(x) − 128) / M ∈ q + [−½, ½] }  (per coefficient),

where ``D`` is the encoder's box average (identity for full-resolution components). ``C_i``
is convex and, because the DCT is orthonormal and ``D`` averages boxes, its Euclidean
projection is closed-form:

    c = DCT(D(x) − 128) / M,   c' = q + clip(c − q, −(½ − m), ½ − m),
    P(x) = x + U(IDCT(M · (c' − c))),

with ``U`` the box replication (every sample of a box gets the same correction, the
minimum-norm fix) and ``m`` a margin that keeps coefficients away from the bin edges.

Planes live on a *canvas*: the full-resolution grid ``code.padded_size()`` covering the
blocks of every component. Images smaller than the canvas are edge-replicated into it,
as libjpeg does when it encodes.
"""

from __future__ import annotations

import numpy as np
import torch

from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.jpeg.libjpeg.forward import padded_rows
from explorable_jpeg.ops.dct import ArrayT, blockify, dct_blocks, idct_blocks, unblockify
from explorable_jpeg.ops.sampling import box_downsample, box_upsample

Margins = list[torch.Tensor | float] | float


def _as_tensor(x: np.ndarray | torch.Tensor) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    return torch.as_tensor(np.asarray(x, dtype=np.float64))


def canvas_rows(code: JpegCode, index: int) -> np.ndarray:
    """Row of the image that libjpeg uses for each canvas row of component ``index``
    (:func:`~explorable_jpeg.jpeg.libjpeg.forward.padded_rows`)."""
    hp, _ = code.padded_size()
    return padded_rows(code.height, code.max_v, code.factors(index)[0], hp)


def to_canvas(planes: ArrayT, code: JpegCode) -> ArrayT:
    """Pad image planes ``(..., C, H, W)`` to the canvas ``(..., C, Hp, Wp)`` as libjpeg does.

    Columns repeat the last column; rows follow :func:`canvas_rows` per component.
    """
    _, wp = code.padded_size()
    cols = np.minimum(np.arange(wp), code.width - 1)
    out = []
    for i in range(planes.shape[-3]):
        rows = canvas_rows(code, i)
        p = planes[..., i, :, :]
        if isinstance(p, torch.Tensor):
            p = p.index_select(-2, torch.as_tensor(rows, device=p.device))
            p = p.index_select(-1, torch.as_tensor(cols, device=p.device))
        else:
            p = p[..., rows, :][..., cols]
        out.append(p)
    return torch.stack(out, dim=-3) if isinstance(planes, torch.Tensor) else np.stack(out, -3)


def crop_canvas(canvas: ArrayT, code: JpegCode) -> ArrayT:
    """Crop a canvas ``(..., C, Hp, Wp)`` back to the image size ``(..., C, H, W)``."""
    return canvas[..., : code.height, : code.width]


def component_coefficients(plane: torch.Tensor, code: JpegCode, index: int) -> torch.Tensor:
    """``DCT(D(x) − 128) / M`` of a canvas plane ``(..., Hp, Wp)``: ``(..., by, bx, 8, 8)``."""
    comp = code.components[index]
    fy, fx = code.factors(index)
    by, bx = comp.blocks
    region = plane[..., : by * 8 * fy, : bx * 8 * fx]
    down = box_downsample(region, fy, fx)
    table = torch.as_tensor(comp.table, dtype=plane.dtype, device=plane.device)
    return dct_blocks(blockify(down - 128.0)) / table


def project_tensor(
    plane: torch.Tensor,
    q: torch.Tensor,
    table: torch.Tensor,
    factors: tuple[int, int] = (1, 1),
    margin: torch.Tensor | float = 0.0,
) -> torch.Tensor:
    """Batched projection of full-resolution planes onto one component's consistent set.

    Args:
        plane: ``(..., Hp, Wp)`` with ``Hp ≥ 8·by·fy`` and ``Wp ≥ 8·bx·fx``.
        q: ``(..., by, bx, 8, 8)`` quantized coefficients (broadcastable to the plane's batch).
        table: ``(..., 8, 8)`` quantization tables.
        factors: box ``(fy, fx)`` of the component.
        margin: keeps coefficients ``m`` steps inside the bins.
    """
    fy, fx = factors
    by, bx = q.shape[-4:-2]
    region = plane[..., : by * 8 * fy, : bx * 8 * fx]
    m = table.to(plane.dtype)[..., None, None, :, :]
    c = dct_blocks(blockify(box_downsample(region, fy, fx) - 128.0)) / m
    q = q.to(plane.dtype)
    half = 0.5 - (margin.to(plane.dtype) if isinstance(margin, torch.Tensor) else margin)
    target = (
        q + torch.clamp(c - q, -half, half)
        if not isinstance(half, torch.Tensor)
        else (q + torch.maximum(torch.minimum(c - q, half), -half))
    )
    delta = box_upsample(unblockify(idct_blocks((target - c) * m)), fy, fx)
    out = plane.clone()
    out[..., : by * 8 * fy, : bx * 8 * fx] = region + delta
    return out


def project_plane(
    plane: torch.Tensor, code: JpegCode, index: int, margin: torch.Tensor | float = 0.0
) -> torch.Tensor:
    """Euclidean projection of one canvas plane onto component ``index``'s consistent set."""
    comp = code.components[index]
    q = torch.as_tensor(comp.coefficients, device=plane.device)
    table = torch.as_tensor(comp.table, device=plane.device)
    return project_tensor(plane, q, table, code.factors(index), margin)


def project(canvas: ArrayT, code: JpegCode, margin: Margins = 0.0) -> ArrayT:
    """Project a canvas ``(..., C, Hp, Wp)`` (YCbCr or gray) onto the consistent set.

    ``margin`` is a float or one tensor per component broadcastable to its coefficients.
    Returns the same type (numpy or torch) as given. Differentiable and batched (exploration,
    training); snap uses its numpy twin :func:`explorable_jpeg.snap.continuous.project_planes`
    (equal to ~1e-13, not to the bit; see there why both exist).
    """
    x = _as_tensor(canvas)
    n = len(code.components)
    if x.shape[-3] != n:
        raise ValueError(f"expected {n} planes, got {x.shape[-3]}")
    margins = margin if isinstance(margin, list) else [margin] * n
    planes = [project_plane(x[..., i, :, :], code, i, margins[i]) for i in range(n)]
    out = torch.stack(planes, dim=-3)
    if isinstance(canvas, torch.Tensor):
        return out
    return out.numpy()


def project_image(
    planes: ArrayT, code: JpegCode, iterations: int = 4, margin: Margins = 0.0
) -> ArrayT:
    """Project image-sized planes ``(..., C, H, W)`` and return image-sized planes.

    When the image does not fill the block grid, the samples outside it are copies of the
    edge (as libjpeg pads); alternating projection and re-padding (POCS) converges to an
    image whose padded version is consistent. ``iterations`` bounds that loop.

    Example: random planes land in the bins of a (block-aligned) code, ``|c − q| ≤ ½``.
        >>> import numpy as np
        >>> from explorable_jpeg import compress
        >>> _, code = compress(np.full((16, 32, 3), 90, np.uint8), quality=50)
        >>> planes = np.random.default_rng(1).uniform(0, 255, (3, 16, 32))
        >>> x = torch.as_tensor(project_image(planes, code))
        >>> err = [
        ...     (component_coefficients(x[i], code, i) - torch.as_tensor(c.coefficients)).abs()
        ...     for i, c in enumerate(code.components)
        ... ]
        >>> [bool(e.max() <= 0.5 + 1e-9) for e in err]
        [True, True, True]
    """
    x = _as_tensor(planes)
    aligned = (code.height, code.width) == code.padded_size()
    for _ in range(1 if aligned else iterations):
        x = crop_canvas(project(to_canvas(x, code), code, margin), code)
    if isinstance(planes, torch.Tensor):
        return x
    return x.numpy()


def displace(
    planes: torch.Tensor, field: torch.Tensor, code: JpegCode, margin: Margins = 0.0
) -> torch.Tensor:
    """``P_C(planes + field)``: image-sized planes ``(..., C, H, W)`` moved by an exploration
    field and projected back onto the consistent set (:func:`project_image`).

    Any consistent image ``x`` is ``displace(ψ, x − ψ)`` for a consistent ``ψ``, so a field
    reaches the whole set; where ``planes + field`` is consistent it is returned unchanged
    (margin 0). Differentiable in ``field``.
    """
    return project_image(planes + field, code, margin=margin)


def mcu_window(
    code: JpegCode, box: tuple[int, int, int, int], pad: int = 0
) -> tuple[JpegCode, slice, slice]:
    """The MCU-aligned window of ``code`` covering ``box`` ``(y0, x0, y1, x1)`` grown by
    ``pad`` px: ``(window code, rows, cols)``. The window's code is exact (whole MCUs), so
    projecting or checking the window is the same as doing it on the whole image there.
    """
    mh, mw = code.mcu_size
    y0, x0, y1, x1 = box
    r0, c0 = max(0, y0 - pad) // mh, max(0, x0 - pad) // mw
    r1 = -(-min(code.height, y1 + pad) // mh)
    c1 = -(-min(code.width, x1 + pad) // mw)
    win = code.crop_mcus(r0, c0, r1, c1)
    return win, slice(r0 * mh, r0 * mh + win.height), slice(c0 * mw, c0 * mw + win.width)
