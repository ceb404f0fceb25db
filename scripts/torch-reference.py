#!/usr/bin/python3
"""PyTorch reference for `curator bench`: the same network, read from a TF.js layers model folder.

Run with Debian's python (another python3 may come first on PATH):
    /usr/bin/python3 scripts/torch-reference.py [--model resources/models/mnist-cnn] [--threads 2]

Builds the network from model.json (Conv2D valid/same + activation, MaxPooling2D,
GlobalMaxPooling2D, Dense + activation), loads weights.bin, and prints one JSON line:
forward (inference) and training (Adam, sparse cross-entropy) throughput in images/s, plus the
torch version and thread count. `--only unfreeze` measures Curator's `--unfreeze N` fit instead:
the top N layers and a sigmoid head on the frozen activations below them (computed once), 150
full-batch Adam steps at lr 0.01 on 40 labels, as src/main/engine/learner.ts does; ms per fit. `--check IN OUT` runs the loaded model on images in IN (raw
float32, NHWC) and writes its outputs to OUT, so a caller can compare them with TF.js's.
"""
import argparse
import json
import os
import subprocess
import sys
import time

WAIT_POLICIES = ("PASSIVE", "ACTIVE")
if __name__ == "__main__" and "--wait-policy" in sys.argv:
    # OpenMP reads it when torch loads. On a loaded machine spinning threads wait for descheduled
    # ones (2 threads ran 4-8x slower than 1 here): PASSIVE sleeps instead.
    policy = sys.argv[sys.argv.index("--wait-policy") + 1]
    if policy in WAIT_POLICIES:
        os.environ["OMP_WAIT_POLICY"] = policy

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = {"relu": F.relu, "tanh": torch.tanh, "softmax": lambda x: F.softmax(x, dim=-1), "linear": lambda x: x, "sigmoid": torch.sigmoid}


class TfjsNet(nn.Module):
    """A sequential chain of the layers the base model uses, NCHW inside."""

    def __init__(self, topology):
        super().__init__()
        self.steps = []
        self.params = nn.ParameterDict()
        for layer in topology["config"]["layers"]:
            cls, cfg, name = layer["class_name"], layer["config"], layer["name"]
            if cls == "InputLayer":
                continue
            if cls == "Conv2D":
                if tuple(cfg["strides"]) != (1, 1) or tuple(cfg["dilation_rate"]) != (1, 1):
                    raise SystemExit(f"{name}: only stride-1 undilated convolutions are supported")
                self.steps.append(("conv", name, cfg["padding"], cfg["activation"]))
            elif cls == "MaxPooling2D":
                self.steps.append(("maxpool", name, tuple(cfg["pool_size"]), tuple(cfg["strides"] or cfg["pool_size"])))
            elif cls == "GlobalMaxPooling2D":
                self.steps.append(("gmaxpool", name))
            elif cls == "Dense":
                self.steps.append(("dense", name, cfg["activation"]))
            else:
                raise SystemExit(f"unsupported layer {cls} ({name})")

    def load(self, manifest, weights_bin):
        offset = 0
        for group in manifest:
            for w in group["weights"]:
                if w["dtype"] != "float32":
                    raise SystemExit(f"{w['name']}: only float32 weights are supported")
                n = int(np.prod(w["shape"]))
                a = np.frombuffer(weights_bin, dtype="<f4", count=n, offset=offset).reshape(w["shape"])
                offset += 4 * n
                layer, kind = w["name"].split("/")
                if kind == "kernel" and a.ndim == 4:
                    a = a.transpose(3, 2, 0, 1)  # HWIO -> OIHW
                elif kind == "kernel":
                    a = a.T  # [in, out] -> [out, in]
                self.params[f"{layer}_{kind}"] = nn.Parameter(torch.from_numpy(a.copy()))

    def forward(self, x, logits=False, start=0, end=None):
        """Layers start..end-1 (default: all); logits: the last layer without its activation."""
        end = len(self.steps) if end is None else end
        for k in range(start, end):
            step = self.steps[k]
            kind, name = step[0], step[1]
            last = k == len(self.steps) - 1
            if kind == "conv":
                x = F.conv2d(x, self.params[f"{name}_kernel"], self.params[f"{name}_bias"], padding=step[2])
                x = ACTIVATIONS[step[3]](x)
            elif kind == "maxpool":
                x = F.max_pool2d(x, step[2], step[3])
            elif kind == "gmaxpool":
                x = torch.amax(x, dim=(2, 3))
            else:
                x = F.linear(x, self.params[f"{name}_kernel"], self.params[f"{name}_bias"])
                if not (last and logits):
                    x = ACTIVATIONS[step[2]](x)
        return x


def layer_params(net, steps):
    """The parameters of these layers (in net.steps)."""
    names = {net.steps[k][1] for k in steps}
    return [p for key, p in net.params.items() if key.rsplit("_", 1)[0] in names]


def unfreeze_fit_ms(net, unfreeze, labels, steps, lr, size, seconds, rng):
    """Curator's --unfreeze fit: ms per fit of the top `unfreeze` layers and a sigmoid head (10 -> 1)."""
    top = len(net.steps) - 1
    split = top - unfreeze
    images = torch.from_numpy(rng.random((labels, 3, size, size), dtype=np.float32))
    y = torch.from_numpy(rng.integers(0, 2, (labels, 1)).astype(np.float32))
    with torch.no_grad():
        features = net(images, end=split + 1)  # the frozen part, once (Curator caches it)
        width = net(features, start=split + 1).shape[1]
    head = nn.Linear(width, 1)
    nn.init.xavier_uniform_(head.weight)
    nn.init.zeros_(head.bias)
    params = layer_params(net, range(split + 1, top + 1)) + list(head.parameters())

    def fit():
        opt = torch.optim.Adam(params, lr=lr)  # a fresh optimiser per fit, as the learner's
        for _ in range(steps):
            opt.zero_grad()
            loss = F.binary_cross_entropy_with_logits(head(net(features, start=split + 1)), y)
            loss.backward()
            opt.step()

    return 1000 / throughput(fit, 1, seconds)


def throughput(fn, images_per_call, min_seconds):
    fn()  # warm-up
    calls, t0 = 0, time.perf_counter()
    while True:
        fn()
        calls += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_seconds and calls >= 3:
            return images_per_call * calls / elapsed


def main():
    ap = argparse.ArgumentParser()
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--model", default=os.path.join(here, "..", "resources", "models", "mnist-cnn"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--size", type=int, default=28)
    ap.add_argument("--forward-batch", type=int, default=256)
    ap.add_argument("--train-batch", type=int, default=128)
    ap.add_argument("--seconds", type=float, default=3.0, help="minimum time per measurement")
    ap.add_argument("--only", choices=["forward", "train", "unfreeze"], help="measure only this (default: forward and train)")
    ap.add_argument("--unfreeze", default="1,2,3,4", help="with --only unfreeze: the N to measure, comma-separated")
    ap.add_argument("--labels", type=int, default=40, help="with --only unfreeze: labelled images per fit")
    ap.add_argument("--fit-steps", type=int, default=150, help="with --only unfreeze: Adam steps per fit")
    ap.add_argument("--wait-policy", choices=["best", *WAIT_POLICIES], default="best",
                    help="OpenMP's OMP_WAIT_POLICY; best: measure under each (separate processes) and keep the faster")
    ap.add_argument("--check", nargs=2, metavar=("IN", "OUT"), help="run the loaded model on IN (float32 NHWC) and write its outputs to OUT")
    a = ap.parse_args()

    if a.wait_policy == "best":
        return best_of_policies()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    with open(os.path.join(a.model, "model.json")) as f:
        model_json = json.load(f)
    with open(os.path.join(a.model, model_json["weightsManifest"][0]["paths"][0]), "rb") as f:
        weights = f.read()
    net = TfjsNet(model_json["modelTopology"])
    net.load(model_json["weightsManifest"], weights)

    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.random((a.forward_batch, 3, a.size, a.size), dtype=np.float32))

    net.eval()

    def forward():
        with torch.no_grad():
            net(x)

    if a.only == "unfreeze":
        fits = {n: round(unfreeze_fit_ms(net, int(n), a.labels, a.fit_steps, 0.01, a.size, a.seconds, rng), 2) for n in a.unfreeze.split(",")}
        print(json.dumps({
            "engine": "pytorch",
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "python": sys.version.split()[0],
            "unfreezeFitMs": fits,
            "labels": a.labels,
            "fitSteps": a.fit_steps,
            "ompWaitPolicy": a.wait_policy,
        }))
        return
    forward_ips = throughput(forward, a.forward_batch, a.seconds) if a.only != "train" else None

    net.train()
    xt = x[: a.train_batch].contiguous() if a.train_batch <= a.forward_batch else torch.rand(a.train_batch, 3, a.size, a.size)
    yt = torch.from_numpy(rng.integers(0, 10, a.train_batch))
    opt = torch.optim.Adam(net.parameters(), lr=0.001)

    def train_step():
        opt.zero_grad()
        loss = F.cross_entropy(net(xt, logits=True), yt)
        loss.backward()
        opt.step()

    if a.check:
        # Outputs of the loaded model (before training changes it) for the caller's images.
        cin, cout = a.check
        cx = np.fromfile(cin, dtype="<f4").reshape(-1, a.size, a.size, 3)
        net.eval()
        with torch.no_grad():
            net(torch.from_numpy(cx.transpose(0, 3, 1, 2).copy())).numpy().astype("<f4").tofile(cout)
        net.train()

    train_ips = throughput(train_step, a.train_batch, a.seconds) if a.only != "forward" else None

    print(json.dumps({
        "engine": "pytorch",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "python": sys.version.split()[0],
        "forwardImagesPerSec": forward_ips and round(forward_ips),
        "forwardBatch": a.forward_batch,
        "trainImagesPerSec": train_ips and round(train_ips),
        "trainBatch": a.train_batch,
        "imageSize": [a.size, a.size, 3],
        "ompWaitPolicy": a.wait_policy,
    }))


def best_of_policies():
    """Runs this script once per OMP_WAIT_POLICY and prints the faster figure of each kind."""
    args = sys.argv[1:]
    if "--wait-policy" in args:
        k = args.index("--wait-policy")
        del args[k:k + 2]
    runs = []
    for policy in WAIT_POLICIES:
        out = subprocess.run([sys.executable, os.path.abspath(__file__), *args, "--wait-policy", policy], check=True, capture_output=True, text=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    best = dict(runs[0])
    for key in ("forwardImagesPerSec", "trainImagesPerSec"):
        scored = [r for r in runs if r.get(key) is not None]
        if scored:
            top = max(scored, key=lambda r: r[key])
            best[key] = top[key]
            best[key.replace("ImagesPerSec", "WaitPolicy")] = top["ompWaitPolicy"]
    if "unfreezeFitMs" in best:
        # Per N, the faster policy's figure.
        best["unfreezeFitMs"] = {n: min(r["unfreezeFitMs"][n] for r in runs) for n in best["unfreezeFitMs"]}
        best["ompWaitPolicy"] = "best of " + ", ".join(f"{r['ompWaitPolicy']} {r['unfreezeFitMs']}" for r in runs)
        print(json.dumps(best))
        return
    best["ompWaitPolicy"] = "best of " + ", ".join(f"{r['ompWaitPolicy']} {r['forwardImagesPerSec']}/{r['trainImagesPerSec']}" for r in runs)
    print(json.dumps(best))


if __name__ == "__main__":
    main()
