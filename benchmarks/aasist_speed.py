"""Time AASIST (unmask.audio.aasist) per 2-s window: forward (inference) and forward + backward + Adam step
(training), batches of 8, median over a few batches, for both sizes.

    OMP_NUM_THREADS=1 python benchmarks/aasist_speed.py [--threads 1] [--repeats 5] [--device cpu]

Prints one JSON line per size: seconds per window for each; the numbers in unmask.audio.aasist's and
unmask.train.aasist's docstrings come from here.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def main() -> None:
    import torch

    from unmask.audio.aasist import Aasist, parameter_count

    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    dev = torch.device(args.device)
    x = (0.1 * torch.randn(args.batch, round(args.seconds * 16000))).to(dev)
    y = torch.randint(0, 2, (args.batch,), device=dev)

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize()

    for size in ("light", "full"):
        net = Aasist(size).to(dev)
        opt = torch.optim.Adam(net.parameters(), 1e-4)
        fwd, train = [], []
        for i in range(args.repeats + 1):  # the first of each is a warm-up
            net.eval()
            sync()
            t0 = time.perf_counter()
            with torch.no_grad():
                net(x)
            sync()
            t1 = time.perf_counter()
            net.train()
            opt.zero_grad()
            torch.nn.functional.cross_entropy(net(x), y).backward()
            opt.step()
            sync()
            t2 = time.perf_counter()
            if i:
                fwd.append((t1 - t0) / args.batch)
                train.append((t2 - t1) / args.batch)
        print(json.dumps({"size": size, "params": parameter_count(net), "device": args.device,
                          "threads": args.threads, "batch": args.batch, "window_s": args.seconds,
                          "forward_s": round(float(np.median(fwd)), 4),
                          "train_step_s": round(float(np.median(train)), 4)}), flush=True)


if __name__ == "__main__":
    main()
