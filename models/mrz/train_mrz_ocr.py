"""Train the MRZ line recogniser (mrz-ocrb) on synthetic OCR-B renders and export it to ONNX.

PyTorch is a training-only dependency (install it in a separate environment; the product runs the
exported ONNX with onnxruntime). The committed model was made by two runs on a GPU machine (one
H200, 15 CPU processes rendering while the GPU trained), the second continuing the first; both
commands are in the manifest's ``training.runs``:

    python models/mrz/train_mrz_ocr.py --workers 15 --device cuda --budget-min 6 --doc-share 0.35 --out /tmp/run1
    python models/mrz/train_mrz_ocr.py --workers 15 --device cuda --budget-min 3.7 --doc-share 0.35 \
        --init /tmp/run1/mrz_ocrb.pt --max-lr 6e-4 --seed 60000 --out models/mrz

Data, all synthetic (no real document image is used for training or for any threshold):

1. Whole documents rendered by edge.mrz.synth (OCR-B from fonts-ocr-b plus two DejaVu fonts; blur,
   noise, JPEG, perspective, rotation, lighting, glare, paper texture), located by the product's
   own edge.mrz.locate and cut by its ``cut_strips``, so the model sees the run-time strips with
   the locator's own errors; plus a copy with the span and band jittered.
2. Single lines rendered straight into the locator's crop frame (models/mrz/strips.py): cheap, so
   most of the data, with the degradations the real specimens show.

Rendering runs in a process pool for the whole run; the trainer starts once --warmup-strips are
ready and takes in new strips as they arrive, so late steps see data no earlier step saw. With
--warmup-strips equal to --capacity (a CPU run), all strips are rendered first and the pool is
closed, so that rendering does not take the cores from the trainer.

--init continues from a state dict or from the committed ONNX file (no state dict is committed;
the export's batch norms are folded into its convolutions, so they are loaded as identity plus
bias and keep those statistics; their scale and bias still learn). --confusable-share makes that
share of the single lines dense in characters the model confuses (strips.CONFUSABLE). A CPU run
and a GPU run with both are in the model card, neither adopted.

The model: a small CNN over the 32-pixel-high strip, collapsed to one feature column per 4 input
columns (3 per character cell), trained with CTC (37 MRZ characters + blank). Warm-up then cosine
decay over --budget-min. Exported with a softmax output [n, frames, 38].
Seeds: documents from --seed (default 1000) and lines from --seed + 1,000,000 upward; held-out
strips from 500000 (documents) and 600000 (lines); the reader's calibration uses 800000-800199 and
the synthetic benchmark 900000 upward: no overlap.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Iterator
from multiprocessing import Pool
from pathlib import Path

import numpy as np

log = logging.getLogger("train_mrz_ocr")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE)]  # the product's edge.mrz, and strips.py

from edge.mrz.checkdigit import MRZ_ALPHABET as ALPHABET  # noqa: E402  (after the path above)
from edge.mrz.ctc import BLANK, best_path  # noqa: E402
MAX_WIDTH = 704  # widest strip kept: 44 cells read as 36 (the reader's guess can be wrong)
MAX_TEXT = 44
LINES_PER_JOB = 50


def doc_strips(seed: int) -> list[tuple[np.ndarray, str]]:
    """A rendered document's lines as the reader cuts them, and a jittered copy."""
    import cv2  # noqa: F401  (imported in the worker)

    from edge.mrz.locate import StripSpan, cut_strips, find_blocks, strip_span
    from edge.mrz.synth import random_document

    rng = np.random.default_rng(seed)
    doc = random_document(rng, full_rotation_p=0.0)  # an upside-down block would mislabel lines
    want = len(doc.lines)
    block = next((b for b in find_blocks(doc.image) if len(b.lines) == want), None)
    if block is None:
        return []
    n = len(doc.lines[0])
    out = [(s[0].astype(np.float16), text) for s, text in zip(cut_strips(block, n), doc.lines)]
    span = strip_span(block, n)
    pitch = (span.right - span.left) / (n + 2.4)
    jittered = StripSpan(
        left=span.left + rng.normal(0, 0.4 * pitch), right=span.right + rng.normal(0, 0.4 * pitch),
        height=span.height * rng.uniform(0.9, 1.12), width=span.width,
    )
    out += [(s[0].astype(np.float16), text) for s, text in zip(cut_strips(block, n, jittered), doc.lines)]
    return out


def line_strips(seed: int, confusable_share: float = 0.0) -> list[tuple[np.ndarray, str]]:
    from strips import generate_strips

    return generate_strips(seed, LINES_PER_JOB, confusable_share)


def _job(job: tuple[str, int, float]) -> list[tuple[np.ndarray, str]]:
    kind, seed, confusable_share = job
    try:
        return doc_strips(seed) if kind == "doc" else line_strips(seed, confusable_share)
    except Exception:  # a degenerate render must not stop the pool
        logging.getLogger("train_mrz_ocr").exception("render %s %d failed", kind, seed)
        return []


def jobs(seed: int, doc_share: float, strips: int, confusable_share: float = 0.0) -> Iterator[tuple[str, int, float]]:
    """Document and line jobs for about *strips* strips, *doc_share* of them from documents
    (kind, seed, and the share of confusable-character lines a line job draws).

    Finite: the pool's task feeder takes its whole input at once.
    """
    doc_seed, line_seed = seed, seed + 1_000_000
    # a document job yields about 4 strips, a line job LINES_PER_JOB
    docs_per_line_job = doc_share * LINES_PER_JOB / (4 * max(1e-6, 1 - doc_share))
    credit = 0.0
    for _ in range(strips // LINES_PER_JOB + 1):
        credit += docs_per_line_job
        while credit >= 1:
            yield ("doc", doc_seed, 0.0)
            doc_seed += 1
            credit -= 1
        yield ("line", line_seed, confusable_share)
        line_seed += 1


class StripBuffer:
    """Strips arriving from the render pool, kept as padded arrays for the trainer."""

    def __init__(self, capacity: int) -> None:
        self.x = np.zeros((capacity, 32, MAX_WIDTH), np.float16)
        self.width = np.zeros(capacity, np.int32)
        self.text = np.full((capacity, MAX_TEXT), BLANK, np.int64)
        self.length = np.zeros(capacity, np.int32)
        self.count = 0
        self.dropped = 0
        self.lock = threading.Lock()

    def add(self, items: list[tuple[np.ndarray, str]]) -> None:
        with self.lock:
            for strip, text in items:
                if strip.shape[1] > MAX_WIDTH or len(text) > MAX_TEXT or self.count >= len(self.x):
                    self.dropped += 1
                    continue
                i = self.count
                self.x[i, :, : strip.shape[1]] = strip
                self.width[i] = strip.shape[1]
                self.text[i, : len(text)] = [ALPHABET.index(c) for c in text]
                self.length[i] = len(text)
                self.count += 1


def fill(buffer: StripBuffer, pool, seed: int, doc_share: float, confusable_share: float, stop: threading.Event) -> None:
    for items in pool.imap_unordered(_job, jobs(seed, doc_share, len(buffer.x), confusable_share), chunksize=4):
        buffer.add(items)
        if stop.is_set() or buffer.count >= len(buffer.x):
            return


def build_model():
    from torch import nn

    def conv(cin: int, cout: int, kernel=3, padding=1) -> list:
        return [nn.Conv2d(cin, cout, kernel, padding=padding, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

    class LineRecogniser(nn.Module):
        """[n, 1, 32, W] strips -> [n, W / 4, 38] logits."""

        def __init__(self) -> None:
            super().__init__()
            self.features = nn.Sequential(
                *conv(1, 32), nn.MaxPool2d(2),  # 16 x W/2
                *conv(32, 64), nn.MaxPool2d(2),  # 8 x W/4
                *conv(64, 96), nn.MaxPool2d((2, 1)),  # 4 x W/4
                *conv(96, 128), nn.MaxPool2d((2, 1)),  # 2 x W/4
                *conv(128, 160, (2, 3), (0, 1)),  # 1 x W/4
                *conv(160, 160, (1, 3), (0, 1)),
                nn.Dropout(0.1),
                nn.Conv2d(160, BLANK + 1, 1),
            )

        def forward(self, strips):
            return self.features(strips).squeeze(2).permute(0, 2, 1)

    return LineRecogniser()


def load_onnx_weights(model, path: Path) -> None:
    """Continue from a committed ONNX export, whose convolutions have their batch norm folded in.

    Each batch norm becomes the identity plus the folded bias (mean 0, variance 1 - eps, scale
    1): the network computes exactly what the export does. Those layers must then keep their
    running statistics (``set_training``), since batch statistics would undo the folding.
    """
    import onnx
    import torch
    from onnx import numpy_helper

    init = {i.name: numpy_helper.to_array(i) for i in onnx.load(str(path)).graph.initializer}
    head = {k.removeprefix("inner."): v for k, v in init.items() if k.startswith("inner.")}
    folded = [v for k, v in init.items() if not k.startswith("inner.")]  # (weight, bias) per convolution, in order
    convs = [i for i, m in enumerate(model.features) if isinstance(m, torch.nn.Conv2d) and m.bias is None]
    state = model.state_dict()
    for j, i in enumerate(convs):
        weight, bias = folded[2 * j], folded[2 * j + 1]
        norm = model.features[i + 1]
        state[f"features.{i}.weight"] = torch.from_numpy(weight.copy())
        state[f"features.{i + 1}.weight"] = torch.ones(len(bias))
        state[f"features.{i + 1}.bias"] = torch.from_numpy(bias.copy())
        state[f"features.{i + 1}.running_mean"] = torch.zeros(len(bias))
        state[f"features.{i + 1}.running_var"] = torch.full((len(bias),), 1 - norm.eps)
    state.update({k: torch.from_numpy(v.copy()) for k, v in head.items()})
    model.load_state_dict(state)


def set_training(model, frozen_norm: bool) -> None:
    """Training mode; with *frozen_norm*, batch norms keep their running statistics (batch
    statistics would undo the folding) but their scale and bias still learn, as a per-channel
    affine after each convolution."""
    import torch

    model.train()
    if frozen_norm:
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.eval()


def greedy_text(logits, widths: np.ndarray) -> list[str]:
    """The reader's own best-path decoding (edge.mrz.ctc) of each strip's frames, padding left out."""
    frames = logits.float().cpu().numpy()
    return ["".join(ALPHABET[k] for k, _ in best_path(row[: (int(width) + 3) // 4])) for row, width in zip(frames, widths)]


def held_out(workers: int) -> dict[str, tuple[np.ndarray, list[str]]]:
    """Strips no training step sees: 200 documents from 500000, 2,000 lines from 600000."""
    with Pool(workers) as pool:
        docs = [s for items in pool.map(doc_strips, range(500000, 500200)) for s in items[: len(items) // 2]]
        lines = [s for items in pool.map(line_strips, range(600000, 600040)) for s in items]
    out = {}
    for name, items in (("documents", docs), ("lines", lines)):
        items = [(strip, text) for strip, text in items if strip.shape[1] <= MAX_WIDTH]
        x = np.zeros((len(items), 1, 32, MAX_WIDTH), np.float32)
        for i, (strip, _) in enumerate(items):
            x[i, 0, :, : strip.shape[1]] = strip
        out[name] = (x, np.array([strip.shape[1] for strip, _ in items]), [t for _, t in items])
    return out


def evaluate(model, valid, device) -> dict[str, float]:
    """Share of held-out lines whose greedy reading is exact (frames past a strip's own width,
    padding in the batch, are not read)."""
    import torch

    model.eval()
    out = {}
    with torch.no_grad():
        for name, (x, widths, texts) in valid.items():
            got = []
            for i in range(0, len(x), 512):
                logits = model(torch.from_numpy(x[i : i + 512]).to(device))
                got += [g for g in greedy_text(logits, widths[i : i + 512])]
            out[name] = float(np.mean([g == t for g, t in zip(got, texts)]))
    return out


def train(args, buffer: StripBuffer, valid, device: str):
    import torch
    import torch.nn.functional as F

    torch.manual_seed(args.seed)
    model = build_model().to(device)
    frozen_norm = args.init is not None and args.init.suffix == ".onnx"
    if frozen_norm:
        load_onnx_weights(model, args.init)
    elif args.init is not None:
        model.load_state_dict(torch.load(args.init, map_location=device))
    if args.init is not None:
        log.info("start (%s): held-out lines read exactly %s", args.init.name, evaluate(model, valid, device))
    set_training(model, frozen_norm)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.max_lr, weight_decay=1e-4)
    budget = args.budget_min * 60
    t_start = time.time()
    step = 0
    accs: dict[str, float] = {}
    # on a GPU the whole buffer lives on the device and strips are copied over as they arrive
    arrays = (buffer.x, buffer.width, buffer.text, buffer.length)
    if device == "cpu":  # no copy: the trainer reads the rows the filler has finished
        gpu = tuple(torch.from_numpy(a) for a in arrays)
    else:
        gpu = tuple(torch.zeros(a.shape, dtype=torch.from_numpy(a[:1]).dtype, device=device) for a in arrays)
    on_device = 0
    while True:
        elapsed = time.time() - t_start
        if elapsed > budget or (args.max_steps and step >= args.max_steps):
            break
        if step % 200 == 0 and buffer.count > on_device:
            with buffer.lock:
                n = buffer.count
                if device != "cpu":
                    for dst, src in zip(gpu, arrays):
                        dst[on_device:n] = torch.from_numpy(src[on_device:n].copy()).to(device)
            on_device = n
        progress = elapsed / budget
        lr = args.max_lr * min(1.0, progress / 0.04) * 0.5 * (1 + np.cos(np.pi * min(1.0, progress)))
        for group in opt.param_groups:
            group["lr"] = max(lr, args.max_lr * 1e-3)
        idx = torch.randint(0, on_device, (args.batch,), device=device)
        x = gpu[0][idx].float().unsqueeze(1)
        widths = gpu[1][idx]
        # photometric jitter and a few pixels of shift: the locator's band is never exact
        x = x * (1 + 0.25 * torch.randn(len(idx), 1, 1, 1, device=device)) + 0.08 * torch.randn_like(x) * torch.rand(len(idx), 1, 1, 1, device=device)
        x = torch.roll(x, shifts=(int(torch.randint(-2, 3, ())), int(torch.randint(-3, 4, ()))), dims=(2, 3))
        logits = model(x)
        log_probs = F.log_softmax(logits.float(), dim=-1).permute(1, 0, 2)  # [T, n, C]
        frames = torch.clamp((widths + 3) // 4, max=logits.shape[1]).long()
        lengths = gpu[3][idx].long()
        targets = gpu[2][idx]
        flat = targets[torch.arange(MAX_TEXT, device=device)[None, :] < lengths[:, None]]
        loss = F.ctc_loss(log_probs, flat, frames, lengths, blank=BLANK, zero_infinity=True)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
        step += 1
        if step % 500 == 0:
            log.info("step %d, loss %.4f, lr %.2e, %d strips on device (%d rendered), %.0f s", step, float(loss), lr, on_device, buffer.count, elapsed)
        if step % args.eval_every == 0:
            accs = evaluate(model, valid, device)
            set_training(model, frozen_norm)
            log.info("step %d: held-out lines read exactly %s", step, accs)
            torch.save(model.state_dict(), args.out / "mrz_ocrb.pt")  # survives a run cut short
    accs = evaluate(model, valid, device)
    log.info("final after %d steps (%.0f s): held-out lines read exactly %s", step, time.time() - t_start, accs)
    return model, accs, step


def export(model, path: Path) -> None:
    import torch

    class WithSoftmax(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, strips):
            return torch.softmax(self.inner(strips), dim=-1)

    wrapped = WithSoftmax(model.cpu()).eval()
    torch.onnx.export(
        wrapped, torch.zeros(2, 1, 32, 556), str(path), input_names=["strips"], output_names=["probs"],
        dynamic_axes={"strips": {0: "n", 3: "width"}, "probs": {0: "n", 1: "frames"}}, opset_version=17, dynamo=False,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1000)
    parser.add_argument("--budget-min", type=float, default=5.0, help="training time (rendering goes on meanwhile)")
    parser.add_argument("--max-steps", type=int, default=0, help="stop after this many steps (0: the time budget decides)")
    parser.add_argument("--warmup-strips", type=int, default=20000, help="strips rendered before the first step")
    parser.add_argument("--capacity", type=int, default=300000)
    parser.add_argument("--doc-share", type=float, default=0.3, help="share of strips from whole located documents")
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--eval-every", type=int, default=2000)
    parser.add_argument("--max-lr", type=float, default=2e-3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--init", type=Path, default=None, help="start from this state dict, or from an ONNX export (batch norms then keep their statistics)")
    parser.add_argument("--confusable-share", type=float, default=0.0, help="share of single lines dense in O/0/D/Q, I/1/T, B/8, ... (strips.CONFUSABLE)")
    parser.add_argument("--out", type=Path, default=HERE, help="where the model, manifest and state dict go")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    import torch

    if args.device == "cpu":
        torch.set_num_threads(int(os.environ.get("TORCH_THREADS", "1")))
    else:
        torch.backends.cudnn.benchmark = False  # widths vary little; the default is fine
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    valid = held_out(args.workers)
    log.info("held-out strips ready (%s) in %.0f s", {k: len(v[2]) for k, v in valid.items()}, time.time() - t0)
    buffer = StripBuffer(args.capacity)
    stop = threading.Event()
    with Pool(args.workers) as pool:
        filler = threading.Thread(target=fill, args=(buffer, pool, args.seed, args.doc_share, args.confusable_share, stop), daemon=True)
        filler.start()
        while buffer.count < args.warmup_strips and filler.is_alive():
            time.sleep(1)
        if args.warmup_strips >= args.capacity:
            # all data first (a CPU run): the render processes would otherwise take the cores
            filler.join()
            pool.terminate()
        log.info("%d strips rendered in %.0f s; training", buffer.count, time.time() - t0)
        model, accs, steps = train(args, buffer, valid, args.device)
        stop.set()
        pool.terminate()
    torch.save(model.state_dict(), args.out / "mrz_ocrb.pt")
    onnx_path = args.out / "mrz_ocrb.onnx"
    export(model, onnx_path)
    digest = hashlib.sha256(onnx_path.read_bytes()).hexdigest()
    manifest = {
        "name": "mrz-ocrb",
        "version": "3",
        "file": onnx_path.name,
        "sha256": digest,
        "source": "trained by models/mrz/train_mrz_ocr.py on synthetic MRZ renders (OCR-B, Debian fonts-ocr-b)",
        "license": "Apache-2.0 (our own weights; OCR-B font public domain)",
        "inputs": {"strips": "float32 [n, 1, 32, W], one text line per row, W a multiple of 4, cut and "
                   "normalised by edge.mrz.locate.cut_strips (ink bright)"},
        "outputs": {"probs": f"float32 [n, W / 4, {BLANK + 1}] softmax per frame over the alphabet, then blank"},
        "alphabet": ALPHABET,
        "accuracy": {
            "held_out_lines_read_exactly_documents": round(accs["documents"], 5),
            "held_out_lines_documents": len(valid["documents"][2]),
            "held_out_lines_read_exactly_lines": round(accs["lines"], 5),
            "held_out_lines_lines": len(valid["lines"][2]),
            "note": "greedy CTC decoding of held-out strips (documents: seeds 500000-500199 located and cut by the "
                    "product, lines: seeds 600000+); document-level figures are in bench/mrz/RESULTS.md",
        },
        "training": {
            "command": "python models/mrz/train_mrz_ocr.py " + " ".join(sys.argv[1:]),
            "seed": args.seed, "steps": steps, "batch": args.batch, "strips_rendered": int(buffer.count),
            "doc_share": args.doc_share, "max_lr": args.max_lr, "device": args.device,
            "continued_from_earlier_run": args.init is not None,
        },
        "size_bytes": onnx_path.stat().st_size,
    }
    (args.out / "mrz_ocrb.manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    log.info("wrote %s (sha256 %s)", onnx_path, digest)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
