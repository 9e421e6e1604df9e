"""``Decoder``: the neural decoders composed into one consistent JPEG decoding pipeline.

Luma: ``X̂_Y = q + ½ tanh(f)`` (consistent by construction) → ``IDCT(M·X̂_Y) + 128``.
Chroma: bin-centre chroma up-sampled to full resolution plus the chroma network's residual,
projected onto the consistent set with the exact box-average model. The result is snapped
to 8 bits so that libjpeg re-encodes it to the same coefficients.

Weights live in a folder per variant holding ``config.json`` and ``model.safetensors``
(fp16); ``from_pretrained`` reads a local folder, a Hub repo (``huggingface_hub``), or —
with no name, or when the Hub cannot be reached — the weights bundled in this package.
"""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from explorable_jpeg.consistency.projection import displace, project_tensor
from explorable_jpeg.decoding.plain import component_planes_plain
from explorable_jpeg.decoding.tiling import TILE_BLOCKS, TRIM_PIXELS, tiled, trim_heap
from explorable_jpeg.errors import InvalidImageError, WeightsError
from explorable_jpeg.jpeg.code import JpegCode
from explorable_jpeg.models import ChromaNet, ChromaNetConfig, LumaNet, LumaNetConfig, hub
from explorable_jpeg.models.blocks import Z_CHANNELS, load_with_zero_z
from explorable_jpeg.models.luma import coefficients_to_pixels
from explorable_jpeg.ops.dct import blocks_to_channels, idct_blocks, unblockify
from explorable_jpeg.ops.sampling import pad_replicate, upsample_display
from explorable_jpeg.ops.symmetry import (
    ENSEMBLE_SIZES,
    coefficients_forward,
    coefficients_inverse,
    grid_forward,
    grid_inverse,
    table_forward,
    transforms,
)
from explorable_jpeg.snap.pipeline import snap

logger = logging.getLogger(__name__)

Variant = Literal["l1", "gan"]
VARIANTS: tuple[str, ...] = ("l1", "gan")
BUNDLED_WEIGHTS = Path(__file__).resolve().parents[1] / "weights"
DEFAULT_HUB_REPO = "explorable-jpeg/explorable-jpeg"

__all__ = [
    "BUNDLED_WEIGHTS",
    "DEFAULT_HUB_REPO",
    "TILE_BLOCKS",
    "TRIM_PIXELS",
    "VARIANTS",
    "Z_CHANNELS",
    "Decoder",
    "Variant",
    "WeightsError",
]


def _to_tensor(
    a: np.ndarray, device: torch.device, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    return torch.as_tensor(np.asarray(a), dtype=dtype, device=device)


class Decoder(nn.Module):
    """Luma + chroma networks for one variant (``l1``: no z; ``gan``: z in [−1, 1]^64/block).

    Example (bundled weights, a tiny JPEG made on the fly):
        >>> import io
        >>> import numpy as np
        >>> from PIL import Image
        >>> from explorable_jpeg import check, read_jpeg
        >>> buf = io.BytesIO()
        >>> Image.new("RGB", (24, 16), (200, 120, 40)).save(buf, "JPEG", quality=30)
        >>> code = read_jpeg(buf.getvalue())
        >>> dec = Decoder.from_pretrained(variant="l1", device="cpu")
        >>> image = dec.decode(code)
        >>> image.shape, check(code, image).consistent
        ((16, 24, 3), True)
    """

    def __init__(
        self, luma: LumaNet, chroma: ChromaNet, variant: Variant = "l1", ensemble: int = 1
    ) -> None:
        super().__init__()
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        if ensemble not in ENSEMBLE_SIZES:
            raise ValueError(f"ensemble must be one of {ENSEMBLE_SIZES}, got {ensemble!r}")
        self.luma = luma
        self.chroma = chroma
        self.variant = variant
        #: Self-ensemble size used when ``decode``/``decode_planes`` get ``ensemble=None``
        #: (``config.json``'s ``"ensemble"``, 1 when absent; the bundled l1 uses 2).
        self.ensemble = ensemble
        self.eval()

    # ------------------------------------------------------------------ construction / IO
    @property
    def z_channels(self) -> int:
        return self.luma.config.z_channels

    @property
    def device(self) -> torch.device:
        return next(self.parameters()).device

    def config_dict(self) -> dict[str, Any]:
        return {
            "variant": self.variant,
            "luma": dataclasses.asdict(self.luma.config),
            "chroma": dataclasses.asdict(self.chroma.config),
            "ensemble": self.ensemble,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Decoder:
        """The decoder (random weights) that ``config`` (:meth:`config_dict`) describes."""
        try:
            luma = LumaNet(LumaNetConfig(**config["luma"]))
            chroma = ChromaNet(ChromaNetConfig(**config["chroma"]))
            return cls(luma, chroma, config.get("variant", "l1"), config.get("ensemble", 1))
        except (KeyError, TypeError, ValueError) as exc:
            raise WeightsError(f"bad decoder config: {exc}") from None

    def save_pretrained(self, folder: str | os.PathLike[str], card: str | None = None) -> None:
        """Write ``config.json`` and fp16 ``model.safetensors`` (and ``README.md``) to folder."""
        hub.save_folder(folder, self.state_dict(), self.config_dict(), torch.float16, card)

    @classmethod
    def from_folder(
        cls, folder: str | os.PathLike[str], device: str | torch.device = "cpu"
    ) -> Decoder:
        """Load ``config.json`` + ``model.safetensors`` from a local folder."""
        return hub.load_folder(folder, cls.from_config, WeightsError, device)

    @classmethod
    def from_pretrained(
        cls,
        name_or_path: str | os.PathLike | None = None,
        variant: Variant = "gan",
        revision: str | None = None,
        device: str | torch.device | None = None,
    ) -> Decoder:
        """Load a decoder from a local folder, a Hub repo, or the bundled weights.

        Args:
            name_or_path: ``None`` → the weights bundled in the package (no network).
                A local folder → ``folder/<variant>/`` or ``folder`` itself. Otherwise a Hub
                repo id, files ``<variant>/config.json`` and ``<variant>/model.safetensors``
                at ``revision``; ``HF_HUB_OFFLINE=1`` uses only the local cache. If the Hub
                cannot be reached and nothing is cached, the bundled weights are loaded and
                one warning says so.
            variant: ``"gan"`` (explorable, default) or ``"l1"``.
            device: ``"cpu"``, ``"cuda"``…; default: CUDA when available.
        """
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
        dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        if name_or_path is None:
            return cls.from_folder(BUNDLED_WEIGHTS / variant, dev)
        path = Path(name_or_path).expanduser()
        if path.is_dir():
            sub = path / variant
            return cls.from_folder(sub if (sub / "config.json").is_file() else path, dev)
        repo = str(name_or_path)
        try:
            cfg_file, w_file = hub.hub_files(repo, variant, revision)
        except Exception as exc:  # network, auth, missing repo: fall back, loudly
            logger.warning(
                "could not load %s (%s) from the Hugging Face Hub (%s); "
                "using the bundled weights instead",
                repo,
                variant,
                type(exc).__name__,
            )
            return cls.from_folder(BUNDLED_WEIGHTS / variant, dev)
        config = hub.read_config(cfg_file, WeightsError)
        return hub.load_weights(config, w_file, cls.from_config, WeightsError, dev)

    def to_gan(self) -> Decoder:
        """An explorable copy of an L1 decoder whose z weights are zero (same outputs at start)."""
        cfg = self.config_dict()
        cfg["variant"] = "gan"
        cfg["ensemble"] = 1  # an ensemble would average the texture of z away
        cfg["luma"]["z_channels"] = Z_CHANNELS
        cfg["chroma"]["z_channels"] = Z_CHANNELS
        gan = Decoder.from_config(cfg).to(self.device)
        without_z = {k: v for k, v in self.state_dict().items() if "z_proj" not in k}
        load_with_zero_z(gan, without_z)
        return gan.eval()

    # ------------------------------------------------------------------ z
    def z_shape(self, code: JpegCode) -> tuple[int, int, int]:
        """Shape ``(64, by, bx)`` of z for ``code``: one 64-vector per block of the canvas."""
        hp, wp = code.padded_size()
        return (Z_CHANNELS, hp // 8, wp // 8)

    def random_z(self, code: JpegCode, seed: int | None = None) -> torch.Tensor:
        """i.i.d. uniform z in [−1, 1], shape :meth:`z_shape`, reproducible by ``seed``."""
        g = torch.Generator().manual_seed(int(seed) if seed is not None else 0)
        return torch.rand(self.z_shape(code), generator=g) * 2 - 1

    def _check_z(self, code: JpegCode, z: torch.Tensor | np.ndarray | None) -> torch.Tensor | None:
        if self.z_channels == 0:
            return None
        if z is None:
            return torch.zeros(self.z_shape(code), device=self.device)
        z = torch.as_tensor(z, dtype=torch.float32, device=self.device)
        if tuple(z.shape) != self.z_shape(code):
            raise InvalidImageError(f"z has shape {tuple(z.shape)}, expected {self.z_shape(code)}")
        if not torch.isfinite(z).all():
            raise InvalidImageError("z contains NaN or infinite values")
        return z.clamp(-1, 1)

    # ------------------------------------------------------------------ decoding
    def decode_planes(
        self,
        code: JpegCode,
        z: torch.Tensor | np.ndarray | None = None,
        tile_blocks: int | None = TILE_BLOCKS,
        ensemble: int | None = None,
    ) -> torch.Tensor:
        """Consistent float planes ``(C, H, W)`` (YCbCr or gray, [0, 255] scale).

        Differentiable w.r.t. ``z`` when ``tile_blocks`` is None (no tiling). Large images
        are processed in overlapping tiles of ``tile_blocks`` blocks (halo = receptive field).
        ``ensemble`` (1, 2, 4, 8): average the decodings of that many flipped/transposed
        copies of the code (:mod:`explorable_jpeg.ops.symmetry`), ``ensemble`` times the work;
        ``None``: the model's own default, :attr:`ensemble`.
        """
        ensemble = self.ensemble if ensemble is None else ensemble
        views = transforms(ensemble)
        dev = self.device
        zt = self._check_z(code, z)
        hp, wp = code.padded_size()
        comp_y = code.components[0]
        ty = _to_tensor(comp_y.table, dev)[None]
        qy = blocks_to_channels(_to_tensor(comp_y.coefficients, dev))[None]
        zy = None if zt is None else zt[None, :, : qy.shape[-2], : qy.shape[-1]]
        coeffs = None  # the sum starts from the first view: no full-size copy for one view
        for k in views:
            tk = table_forward(ty, k)
            out = tiled(
                lambda q, z_, tk=tk: self.luma(q, tk, z_),
                [coefficients_forward(qy, k), None if zy is None else grid_forward(zy, k)],
                [1, 1],
                1,
                self.luma.config.receptive_blocks,
                tile_blocks,
            )
            back = coefficients_inverse(out, k)
            coeffs = back if coeffs is None else coeffs + back
        assert coeffs is not None  # transforms() gives at least one view
        if len(views) > 1:
            coeffs = coeffs / len(views)
        luma = coefficients_to_pixels(coeffs, ty)[0]
        del coeffs, out, back, qy, zy  # the luma stage's full-size tensors: not needed below
        if hp * wp > TRIM_PIXELS:
            trim_heap()  # the luma tiles' freed activations
        fy, fx = code.factors(0)
        luma = pad_replicate(upsample_display(luma, fy, fx), hp, wp)[:hp, :wp]
        if (fy, fx) != (1, 1):
            luma = project_tensor(luma, _to_tensor(comp_y.coefficients, dev), ty[0], (fy, fx))
        if not code.is_color:
            return luma[None, : code.height, : code.width]
        ups, qs, tabs = [], [], []
        for i in (1, 2):
            comp = code.components[i]
            t = _to_tensor(comp.table, dev)
            q = _to_tensor(comp.coefficients, dev)
            plane = unblockify(idct_blocks(q * t)) + 128.0
            ch, cw = code.component_size(i)
            plane = upsample_display(plane.clamp(0, 255)[:ch, :cw], *code.factors(i))
            ups.append(pad_replicate(plane, hp, wp)[:hp, :wp])
            qs.append(q)
            tabs.append(t)
        up = torch.stack(ups)[None]
        del ups, plane
        fac = code.factors(1)
        res = None
        # 4:2:2-like chroma: no transposition (it would be a sampling the net has not seen)
        chroma_views = transforms(ensemble, transpose=fac[0] == fac[1])
        for k in chroma_views:
            tk = table_forward(tabs[0][None], k)
            fk = (fac[1], fac[0]) if k & 4 else fac
            out = tiled(
                lambda y, u, z_, tk=tk, fk=fk: self.chroma(y, u, tk, fk, z_),
                [grid_forward(luma[None, None], k), grid_forward(up, k)]
                + [None if zt is None else grid_forward(zt[None], k)],
                [8, 8, 1],
                8,
                self.chroma.config.receptive_blocks,
                tile_blocks,
            )
            back = grid_inverse(out, k)
            res = back if res is None else res + back
        assert res is not None
        if len(chroma_views) > 1:
            res = res / len(chroma_views)
        pred = up[0] + res[0]
        del up, res, out, back
        # written into one preallocated tensor plane by plane (a stack would hold every
        # plane twice at the peak; with the dels above, 12 MP decode peak 1.7 → 1.0 GB)
        planes = luma.new_empty((3, *luma.shape))
        planes[0] = luma
        del luma
        for k in (0, 1):
            planes[k + 1] = project_tensor(pred[k], qs[k], tabs[k], code.factors(k + 1))
        del pred
        if hp * wp > TRIM_PIXELS:
            trim_heap()
        return planes[:, : code.height, : code.width]

    @torch.inference_mode()
    def decode(
        self,
        code: JpegCode,
        z: torch.Tensor | np.ndarray | None = None,
        seed: int | None = None,
        ensemble: int | None = None,
        field: torch.Tensor | None = None,
    ) -> np.ndarray:
        """Decode to uint8 ``(H, W, 3)`` RGB or ``(H, W)`` gray that re-encodes to ``code``.

        ``z``: control signal of shape :meth:`z_shape` (gan variant); ``seed``: draw a random
        z instead (ignored by the l1 variant). ``z=None`` and no seed: z = 0, deterministic.
        ``ensemble`` (1, 2, 4 or 8): self-ensemble over flipped/transposed copies of the code
        (:mod:`explorable_jpeg.ops.symmetry`): a little more accurate for ``ensemble`` times the
        network time (l1, 384-px photos at quality 10: +0.04 dB with 2, +0.08 dB with 8). For
        the gan variant it also averages texture away: use it for the l1 decoder. ``None``
        (default): the model's own :attr:`ensemble` from its ``config.json`` (bundled l1: 2,
        about 1.7× the time of 1 view: 0.84 s for a 512×512 colour file on 2 CPU cores; gan: 1).
        ``field``: an exploration field ``(C, H, W)`` (YCbCr/gray, [0, 255] scale) added to
        the network's planes before the exact projection, ``P_C(ψ(q, z) + field)``
        (:func:`explorable_jpeg.consistency.projection.displace`); it reaches any consistent image.
        """
        if z is None and seed is not None and self.z_channels:
            z = self.random_z(code, seed)
        planes = self.decode_planes(code, z, ensemble=ensemble)
        if field is not None:
            planes = displace(planes, torch.as_tensor(field).to(planes), code)
        return snap(planes.cpu().numpy(), code, fallback=component_planes_plain)

    def sample(self, code: JpegCode, n: int, seed: int = 0) -> list[np.ndarray]:
        """``n`` decodings with random z drawn from seeds ``seed, seed+1, …``."""
        return [self.decode(code, seed=seed + k) for k in range(n)]
