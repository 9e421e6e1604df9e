"""Snap: from a continuous consistent image to an 8-bit image that re-encodes to the file.

:func:`snap` is the entry point (:mod:`.pipeline`, which orders the stages). The layers,
lowest first:

* :mod:`.bins` — bin tests and bin excess; :mod:`.streams` — per-block/per-MCU random
  streams; :mod:`.tiles` — MCUs simulated as batches of tiles;
* :mod:`.continuous` — the projection stage (and float planes ↔ 8-bit images);
  :mod:`.search` — the randomised local search per MCU; :mod:`.refine` — the retry of the
  last MCUs from the fallback planes; :mod:`.block_descent` → :mod:`.greedy_chroma` →
  :mod:`.greedy` — the greedy stages for fine tables; :mod:`.descent` — the exact MCU-wise
  descent on the edge MCUs.
"""

from explorable_jpeg.snap.pipeline import snap

__all__ = ["snap"]

_HOMES = (
    "explorable_jpeg.snap.pipeline",
    "explorable_jpeg.snap.continuous",
    "explorable_jpeg.snap.tiles",
    "explorable_jpeg.snap.bins",
    "explorable_jpeg.snap.search",
    "explorable_jpeg.snap.refine",
    "explorable_jpeg.snap.streams",
)

_RENAMED = {
    # names of the former flat module explorable_jpeg/snap.py that are public now
    "_violations": "image_violations",
    "_outside_bin": "outside_bin",
    "_excess": "image_excess",
    "_mcu_scores": "mcu_scores",
    "_mcu_totals": "mcu_totals",
    "_project_image": "project_planes",
    "_dct": "dct_gemm",
    "_idct": "idct_gemm",
    "_tiles_to_image": "tiles_to_image",
    "_project_tiles": "project_tiles",
    "_continuous_tiles": "continuous_tiles",
    "_Group": "McuGroup",
    "_groups": "groups",
    "_pixel_index": "pixel_index",
    "_block_index": "block_index",
    "_tile_dct8": "tile_dct8",
    "_failing_mcus": "failing_mcus",
    "_tile_bounds": "tile_bounds",
    "_tile_violations": "tile_violations",
    "_tile_excess": "tile_excess",
    "_pad_tiles": "pad_tiles",
    "_tile_descent": "tile_descent",
    "_repair_groups": "repair_groups",
    "_retry_order": "retry_order",
    "_Adam": "Adam",
    "_worth_greedy": "worth_greedy",
    "_greedy_stages": "greedy_stages",
    "_mcu_descent": "descent_stage",
    "_mcu_uniform": "group_uniform",
    "_GAMMA": "GAMMA",
}

_PROPERTIES = {"_mcu_grid": "mcu_grid", "_mcu_size": "mcu_size"}  # JpegCode's own now


def __getattr__(name: str) -> object:
    # explorable_jpeg.snap was one module; its other names now live in the modules above
    # (the private ones under a public name: _RENAMED).
    from explorable_jpeg import _moved

    if name in _PROPERTIES:
        import operator
        import warnings

        new = _PROPERTIES[name]
        warnings.warn(f"{__name__}.{name}(code) is JpegCode.{new}", DeprecationWarning, 2)
        return operator.attrgetter(new)
    return _moved.forward(__name__, _HOMES, _RENAMED.get(name, name))
