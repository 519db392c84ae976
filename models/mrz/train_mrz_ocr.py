"""Train the MRZ character classifier (mrz-ocrb) on synthetic OCR-B renders and export it to ONNX.

    nice -n 10 env OMP_NUM_THREADS=1 TORCH_THREADS=1 .venv/bin/python models/mrz/train_mrz_ocr.py --docs 800 --epochs 4

(the committed model was made by exactly this; about 3 minutes of rendering and 3 of training
on an idle core; cells are cached in --cache, delete it after changing edge/mrz/locate.py)

1. Render random, valid MRZs (edge.mrz.synth: OCR-B from fonts-ocr-b plus two DejaVu fonts for
   variety; blur, noise, JPEG, perspective, rotation, lighting, glare, paper texture).
2. Run the product's own locator and cell cutter (edge.mrz.locate) on each render, so the model
   sees exactly the cells it will see at run time, plus a copy with the line ends jittered to
   absorb segmentation error.
3. Train a small CNN (37 classes: 0-9, A-Z, '<') with PyTorch on CPU and export it to ONNX with a
   softmax output; write mrz_ocrb.onnx and mrz_ocrb.manifest.json (sha256, accuracy) here.
Seeds: training documents use seeds from --seed (default 1000); the synthetic benchmark uses
seeds from 900000 upward, so they never overlap.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import time
from multiprocessing import Pool
from pathlib import Path

import numpy as np

log = logging.getLogger("train_mrz_ocr")
HERE = Path(__file__).resolve().parent
ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<"


def _cells_for(seed: int) -> tuple[np.ndarray, np.ndarray] | None:
    import cv2  # noqa: F401  (imported in the worker)

    from edge.mrz.locate import MrzBlock, TextLine, cut_cells, find_blocks, fit_grid
    from edge.mrz.synth import random_document

    rng = np.random.default_rng(seed)
    doc = random_document(rng, full_rotation_p=0.0)  # upside-down crops would mislabel cells
    want = len(doc.lines)
    block = next((b for b in find_blocks(doc.image) if len(b.lines) == want), None)
    if block is None:
        block = next((b for b in find_blocks(doc.image, transpose=True) if len(b.lines) == want), None)
    if block is None:
        return None
    n = len(doc.lines[0])
    labels = np.array([ALPHABET.index(c) for line in doc.lines for c in line], np.int64)
    out = [cut_cells(block, n)]
    pitch = (block.lines[0].right - block.lines[0].left) / n
    fitted = [fit_grid(ln, n) for ln in block.lines]
    jittered = tuple(
        TextLine(
            left=grid[0] - widths[0] / 2 + rng.normal(0, 0.06 * pitch),
            right=grid[-1] + widths[-1] / 2 + rng.normal(0, 0.06 * pitch),
            slope=ln.slope, intercept=ln.intercept + rng.normal(0, 0.06 * ln.height), height=ln.height * rng.uniform(0.9, 1.1),
            centres=(),  # no grid fitting: the jitter is the point of this copy
        )
        for ln, (grid, widths) in zip(block.lines, fitted)
    )
    out.append(cut_cells(MrzBlock(crop=block.crop, lines=jittered, score=block.score), n))
    return np.concatenate(out), np.concatenate([labels, labels])


def generate(seeds: range, workers: int) -> tuple[np.ndarray, np.ndarray, int]:
    results = []
    with Pool(workers) as pool:
        for i, result in enumerate(pool.imap(_cells_for, seeds, chunksize=8)):
            results.append(result)
            if (i + 1) % 100 == 0:
                log.info("rendered %d / %d documents", i + 1, len(seeds))
    kept = [r for r in results if r is not None]
    x = np.concatenate([r[0] for r in kept]).astype(np.float16)
    y = np.concatenate([r[1] for r in kept])
    return x, y, len(seeds) - len(kept)


def build_model():
    from torch import nn

    def block(cin: int, cout: int) -> list:
        return [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    return nn.Sequential(
        *block(1, 16), nn.MaxPool2d(2),  # 12 x 8
        *block(16, 32), nn.MaxPool2d(2),  # 6 x 4
        *block(32, 64), nn.MaxPool2d(2),  # 3 x 2
        nn.Flatten(), nn.Linear(64 * 6, 128), nn.ReLU(inplace=True), nn.Dropout(0.1), nn.Linear(128, len(ALPHABET)),
    )


def train(x: np.ndarray, y: np.ndarray, epochs: int, seed: int):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(seed)
    model = build_model()
    n_val = max(1000, len(x) // 20)
    perm = np.random.default_rng(seed).permutation(len(x))
    val, tr = perm[:n_val], perm[n_val:]
    xt, yt = torch.from_numpy(x[tr].astype(np.float32)), torch.from_numpy(y[tr])
    xv, yv = torch.from_numpy(x[val].astype(np.float32)), torch.from_numpy(y[val])
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * (len(xt) // 256 + 1)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xt))
        t0 = time.time()
        for start in range(0, len(xt), 256):
            idx = order[start : start + 256]
            batch = xt[idx]
            # light photometric augmentation on the normalised cells
            batch = batch * (1 + 0.2 * torch.randn(len(idx), 1, 1, 1)) + 0.2 * torch.randn(len(idx), 1, 1, 1)
            loss = F.cross_entropy(model(batch), yt[idx], label_smoothing=0.02)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        model.eval()
        with torch.no_grad():
            acc = float((model(xv).argmax(1) == yv).float().mean())
        log.info("epoch %d: loss %.4f, validation cell accuracy %.5f (%.0f s)", epoch + 1, float(loss.detach()), acc, time.time() - t0)
    return model, acc, len(tr), n_val


def export(model, path: Path) -> None:
    import torch

    class WithSoftmax(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, cells):
            return torch.softmax(self.inner(cells), dim=1)

    from edge.mrz.locate import CELL_H, CELL_W

    wrapped = WithSoftmax(model).eval()
    torch.onnx.export(
        wrapped, torch.zeros(4, 1, CELL_H, CELL_W), str(path), input_names=["cells"], output_names=["probs"],
        dynamic_axes={"cells": {0: "n"}, "probs": {0: "n"}}, opset_version=17, dynamo=False,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=800)
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/mrz_train_cells.npz"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "2")))
    if args.cache.is_file():
        data = np.load(args.cache)
        x, y, dropped = data["x"], data["y"], int(data["dropped"])
    else:
        t0 = time.time()
        x, y, dropped = generate(range(args.seed, args.seed + args.docs), args.workers)
        np.savez(args.cache, x=x, y=y, dropped=dropped)
        log.info("generated %d cells from %d documents (%d not located) in %.0f s", len(x), args.docs, dropped, time.time() - t0)
    model, acc, n_train, n_val = train(x, y, args.epochs, args.seed)
    onnx_path = HERE / "mrz_ocrb.onnx"
    export(model, onnx_path)
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    from edge.mrz.locate import CELL_H, CELL_W

    manifest = {
        "name": "mrz-ocrb",
        "version": "1",
        "file": onnx_path.name,
        "sha256": digest,
        "source": "trained by models/mrz/train_mrz_ocr.py on synthetic MRZ renders (OCR-B, Debian fonts-ocr-b)",
        "license": "Apache-2.0 (our own weights; OCR-B font public domain)",
        "inputs": {"cells": f"float32 [n, 1, {CELL_H}, {CELL_W}], one character cell per row, "
                   "ink bright, per-cell (mean - x) / (std + 8) as edge.mrz.locate.cut_cells makes it"},
        "outputs": {"probs": f"float32 [n, {len(ALPHABET)}] softmax over the alphabet"},
        "alphabet": ALPHABET,
        "accuracy": {
            "validation_cell_accuracy": round(acc, 5),
            "validation_cells": n_val,
            "note": "held-out cells from the training renders; document-level figures are in bench/mrz/RESULTS.md",
        },
        "training": {"documents": args.docs, "seed": args.seed, "cells": n_train, "not_located": dropped, "epochs": args.epochs},
        "size_bytes": onnx_path.stat().st_size,
    }
    (HERE / "mrz_ocrb.manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s (sha256 %s)", onnx_path, digest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
