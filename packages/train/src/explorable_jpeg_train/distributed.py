"""Multi-GPU training with ``torchrun``: one process per GPU, gradients averaged.

    torchrun --nproc_per_node 4 -m explorable_jpeg_train CONFIG.toml --resume

No sampler: every rank draws its own random crops, tables and z from generators seeded
with ``seed + 1000·rank``. After each backward pass the gradients are averaged over ranks
with one ``all_reduce`` of a flat buffer (what ``DistributedDataParallel`` does, without
its autograd hooks: the WGAN-GP penalty needs a double backward and the generator step
several forwards, which DDP's reducer does not support). Identical initial weights (all
ranks start from the same seed or checkpoint) plus identical averaged gradients keep the
replicas in step. Only rank 0 logs and writes checkpoints.
"""

from __future__ import annotations

import dataclasses
import os

import torch
import torch.distributed as dist


@dataclasses.dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1 or (dist.is_available() and dist.is_initialized())


def setup(device_pref: str = "auto") -> tuple[DistInfo, torch.device]:
    """Read ``RANK``/``WORLD_SIZE``/``LOCAL_RANK`` (set by torchrun); init the process group.

    ``device_pref``: ``"auto"`` → ``cuda:LOCAL_RANK`` if CUDA is available, else CPU;
    anything else is used as given. Backend: NCCL on CUDA, gloo on CPU.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if device_pref == "auto":
        device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(device_pref)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return DistInfo(rank, world, local), device


def average_gradients(params, info: DistInfo) -> None:
    """Average ``p.grad`` over ranks in place (no-op for one process)."""
    if not info.enabled:
        return
    params = [p for p in params if p.requires_grad]
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    flat = torch.cat([p.grad.reshape(-1) for p in params])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n


def broadcast_module(module: torch.nn.Module, info: DistInfo) -> None:
    """Copy rank 0's parameters and buffers to every rank."""
    if not info.enabled:
        return
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, src=0)


def barrier(info: DistInfo) -> None:
    if info.enabled:
        dist.barrier()


def cleanup() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
