"""Training the lifter on an accelerator: the training views made in worker processes.

``tools/train_lifter.py --workers N [--device cuda]`` takes this path. On one CPU thread a
width-512 network trains on about 6,000 samples a second, so a larger network or a longer run
was limited by the machine, not by the data ("A stronger lifter", ``docs/fit_lifter.md``). A GPU
trains far faster than one process can make the random views (``train_lifter.samples``, about
16 µs a sample), so here ``N`` processes pose the training bodies and make the views, a chunk of
bodies at a time, while the main process trains on the device. The views are the same
function's, so the network sees what the CPU recipe would show it, only more of it.

Each chunk draws its bodies at random (without replacement within the chunk) from a generator
seeded by (seed, chunk number), so the stream of samples does not depend on the number of
workers; which worker's chunk arrives first can, so the run is not bit-for-bit repeatable.
"""

from __future__ import annotations

import logging
import time
from multiprocessing import get_context

import numpy as np

logger = logging.getLogger("train_lifter")

#: Bodies posed per task when posing in parallel.
POSE_CHUNK = 2048


def _pose_chunk(task):
    from tools.train_lifter import body_points

    poses, seed, index = task
    return body_points(poses, np.random.default_rng([seed, 1, index]))


def posed_in_parallel(poses: np.ndarray, seed: int, workers: int) -> np.ndarray:
    """``train_lifter.body_points`` of poses (N, 72) → (N, 33, 3), in ``workers`` processes, a
    chunk of ``POSE_CHUNK`` poses each, each chunk's bodies and tilts seeded by (seed, chunk)."""
    tasks = [(poses[i : i + POSE_CHUNK], seed, k)
             for k, i in enumerate(range(0, len(poses), POSE_CHUNK))]  # fmt: skip
    with get_context("fork").Pool(workers) as pool:
        return np.concatenate(pool.map(_pose_chunk, tasks))


def view_stream(points: np.ndarray, args):
    """A torch IterableDataset of endless chunks (x (C, 99), y (C, 99), signs (C, 8)) of
    ``train_lifter.samples`` over ``args.chunk`` random bodies of points (N, 33, 3) each, with
    ``args.profile`` and ``args.empirical_noise`` as the CPU recipe takes them."""
    import torch

    class Views(torch.utils.data.IterableDataset):
        def __iter__(self):
            from tools.train_lifter import samples

            info = torch.utils.data.get_worker_info()
            worker, step = (0, 1) if info is None else (info.id, info.num_workers)
            chunk = worker
            while True:
                rng = np.random.default_rng([args.seed, 2, chunk])
                idx = rng.choice(len(points), min(args.chunk, len(points)), replace=False)
                x, y, _, _, signs = samples(points[idx], rng, profile=args.profile,
                                            empirical=args.empirical_noise)  # fmt: skip
                yield torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(signs)
                chunk += step

    return Views()


def train_streamed(net, points: np.ndarray, args, device: str) -> list[dict]:
    """Adam on ``train_lifter.point_loss`` (+ ``args.sign_weight`` × the sign loss) over the
    stream of :func:`view_stream`, on ``device``; an epoch is len(points) samples; the learning
    rate decays per epoch (``args.decay``) or with the clock (``args.decay_to``); stops after
    ``args.max_epochs`` epochs or ``args.minutes``."""
    import torch

    from tools.train_lifter import train_on_batches

    loader = torch.utils.data.DataLoader(
        view_stream(points, args), batch_size=None, num_workers=args.workers,
        pin_memory=device != "cpu", prefetch_factor=4 if args.workers else None,
    )  # fmt: skip
    chunks = iter(loader)  # the workers fork before the device is touched
    net.to(device).train()
    opt = torch.optim.Adam(net.parameters(), lr=args.lr, fused=device != "cpu")
    history, start = [], time.perf_counter()
    seen, total = 0, torch.zeros((), device=device)
    for chunk in chunks:
        x, y, signs = (t.to(device, non_blocking=True) for t in chunk)
        order = torch.randperm(len(x), device=device)
        total += train_on_batches(net, opt, x, y, signs, order, args)
        seen += len(x) - len(x) % args.batch
        if seen < len(points):
            continue
        minutes = (time.perf_counter() - start) / 60
        history.append({"epoch": len(history) + 1, "train_mm": 1e3 * float(total) / seen,
                        "minutes": minutes})  # fmt: skip
        logger.info("epoch %d: %.1f mm (%.2f min)", len(history), history[-1]["train_mm"], minutes)
        seen, total = 0, torch.zeros((), device=device)
        for group in opt.param_groups:
            if args.decay_to is None:
                group["lr"] = args.lr * args.decay ** len(history)
            else:
                group["lr"] = args.lr * args.decay_to ** min(minutes / args.minutes, 1.0)
        if len(history) >= args.max_epochs or minutes >= args.minutes:
            break
    net.to("cpu")
    return history
