"""Parameter trajectories from torch.optim for OptimizerGoldenTest.

Usage: torch_optim_golden.py DIR. DIR holds cases.json (sizes and one entry per case) and
inputs.bin (little-endian float32: the n starting parameters, then steps gradients of n values).
Writes, per case id, <id>.params.bin (float32, the parameters after each step) and <id>.lrs.bin
(float64, the learning rate each step used, read from the optimizer before it steps).
"""
import json
import os
import sys
import warnings

import numpy as np
import torch
from torch.optim import lr_scheduler

# SequentialLR restarts the second schedule with step(0), which torch reports as deprecated.
warnings.filterwarnings("ignore")
torch.set_num_threads(1)


def optimizer(c, p):
    name, lr, wd = c["name"], c["learningRate"], c["weightDecay"]
    if name == "sgd":
        return torch.optim.SGD([p], lr=lr, weight_decay=wd)
    if name in ("momentum", "nesterov"):
        return torch.optim.SGD([p], lr=lr, momentum=c["momentum"], weight_decay=wd,
                               nesterov=name == "nesterov")
    if name == "adagrad":
        return torch.optim.Adagrad([p], lr=lr, eps=c["epsilon"], weight_decay=wd)
    if name == "rmsprop":
        return torch.optim.RMSprop([p], lr=lr, alpha=c["alpha"], eps=c["epsilon"], weight_decay=wd)
    betas = (c["beta1"], c["beta2"])
    if name == "adam":
        return torch.optim.Adam([p], lr=lr, betas=betas, eps=c["epsilon"], weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW([p], lr=lr, betas=betas, eps=c["epsilon"], weight_decay=wd)
    raise ValueError("unknown optimizer " + name)


def scheduler(c, opt):
    warm = c["warmupSteps"]
    first = None
    if warm > 0:
        first = lr_scheduler.LinearLR(opt, start_factor=1.0 / (warm + 1), total_iters=warm)
    if c["schedule"] == "step":
        main = lr_scheduler.StepLR(opt, step_size=c["stepSize"], gamma=c["gamma"])
    elif c["schedule"] == "cosine":
        main = lr_scheduler.CosineAnnealingLR(opt, T_max=c["totalSteps"] - warm,
                                              eta_min=c["minLearningRate"])
    else:
        main = lr_scheduler.LambdaLR(opt, lambda epoch: 1.0)
    if first is None:
        return main
    return lr_scheduler.SequentialLR(opt, [first, main], milestones=[warm])


def main(out):
    with open(os.path.join(out, "cases.json")) as f:
        spec = json.load(f)
    n, steps = spec["n"], spec["steps"]
    data = np.fromfile(os.path.join(out, "inputs.bin"), dtype="<f4")
    start = torch.from_numpy(data[:n].copy())
    grads = torch.from_numpy(data[n:].copy()).reshape(steps, n)
    for c in spec["cases"]:
        p = torch.nn.Parameter(start.clone())
        opt = optimizer(c, p)
        sched = scheduler(c, opt)
        trajectory, lrs = [], []
        for t in range(steps):
            lrs.append(opt.param_groups[0]["lr"])
            p.grad = grads[t].clone()
            if c["clipNorm"] > 0:
                torch.nn.utils.clip_grad_norm_([p], c["clipNorm"])
            opt.step()
            sched.step()
            trajectory.append(p.detach().numpy().copy())
        np.stack(trajectory).astype("<f4").tofile(os.path.join(out, c["id"] + ".params.bin"))
        np.array(lrs, dtype="<f8").tofile(os.path.join(out, c["id"] + ".lrs.bin"))


if __name__ == "__main__":
    main(sys.argv[1])
