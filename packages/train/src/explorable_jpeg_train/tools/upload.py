"""Push a weights folder (``l1/``, ``gan/``: config.json + model.safetensors + README.md)
to a Hugging Face Hub model repo.

    python -m explorable_jpeg_train.tools.upload runs/gan/weights explorable-jpeg/explorable-jpeg \\
        [--revision main] [--message "..."] [--private] [--dry-run]

Uses ``huggingface_hub.HfApi.upload_folder`` (token from ``HF_TOKEN`` or ``huggingface-cli
login``). Only safetensors, JSON and markdown files are sent (never pickles). ``--dry-run``
lists what would be uploaded and exits without touching the network.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ALLOW = ["*.safetensors", "*.json", "*.md"]


def files_to_upload(folder: Path) -> list[Path]:
    """Files under ``folder`` matching :data:`ALLOW`, sorted, relative to ``folder``."""
    out = set()
    for pattern in ALLOW:
        out.update(p.relative_to(folder) for p in folder.rglob(pattern) if p.is_file())
    return sorted(out)


def check_folder(folder: Path) -> list[str]:
    """Problems that would make the Hub copy unloadable by ``Decoder.from_pretrained``."""
    problems = []
    variants = [d for d in ("l1", "gan") if (folder / d).is_dir()]
    if not variants:
        problems.append(f"{folder} has neither l1/ nor gan/")
    for v in variants:
        for name in ("config.json", "model.safetensors"):
            if not (folder / v / name).is_file():
                problems.append(f"{v}/{name} missing")
    return problems


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("folder", type=Path)
    p.add_argument("repo_id")
    p.add_argument("--revision", default=None)
    p.add_argument("--message", default="Upload Explorable JPEG weights")
    p.add_argument("--private", action="store_true")
    p.add_argument("--dry-run", action="store_true")
    args = p.parse_args(argv)
    problems = check_folder(args.folder)
    if problems:
        print("cannot upload:", *problems, sep="\n  ", file=sys.stderr)
        return 1
    files = files_to_upload(args.folder)
    for f in files:
        print(f)
    if args.dry_run:
        print(f"dry run: {len(files)} files would go to {args.repo_id}")
        return 0
    from huggingface_hub import HfApi

    api = HfApi()
    api.create_repo(args.repo_id, repo_type="model", private=args.private, exist_ok=True)
    info = api.upload_folder(
        folder_path=str(args.folder),
        repo_id=args.repo_id,
        repo_type="model",
        revision=args.revision,
        commit_message=args.message,
        allow_patterns=ALLOW,
    )
    print(info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
