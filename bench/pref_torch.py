#!/usr/bin/python3
"""PyTorch (CPU) reference of one DPO step and one reward-model (Bradley-Terry) step at the
sizes of the workload "opd-mlp-small" (issue 15's benchmark; bench/pref-compare runs it
side by side with the runtime's build/bench/dpo-step and rm-step).

Run with Debian's python:  /usr/bin/python3 bench/pref_torch.py --mode dpo --threads 1
Options: --mode dpo|rm   the step to time (default dpo)
         --threads N     OpenBLAS threads (all GEMMs) and, by default, torch intra-op threads
         --intraop M     torch.set_num_threads(M) (OpenMP, non-GEMM ops), default N
         --steps 30 --warmup 3 --batch 256 (pairs) --seed 0 --beta 0.1 --json FILE
         --fused-l1      exact rewrite of Linear(concat(emb)) as a sum of K rows of a
                         per-step (K*V, H) table (F.embedding_bag), as in opd_mlp_torch.py
         --malloc tuned|default   as in opd_mlp_torch.py (tuned: no mmap/munmap per tensor)
As in ../shared/bench/opd_mlp_torch.py, Debian's torch runs its GEMMs in OpenBLAS-pthread,
whose pool ignores torch.set_num_threads: on 2 cores `--threads 2 --intraop 1` is the fast
setting (bench/pref-compare uses it).

Model: the MLP LM of ../shared/bench/opd_mlp_torch.py (V=32 tokens, id 0 = PAD, context of
the previous K=8 tokens left-padded with PAD, Embedding(V,32) -> concat (256) ->
Linear(256,H=256) -> ReLU -> Linear(H,V)), defined again here: that script parses its
arguments and runs its benchmark at import, so it cannot be imported.

Data (made once, fixed): B pairs of (prompt of P=8 uniform tokens in 1..31, chosen answer
and rejected answer of T=16 uniform tokens in 1..31 each: 16 is the longest answer a
preference pair of the runtime holds, so both sides use it); a sequence is buf =
[K x PAD | prompt | answer] and the context of position j is buf[j-K:j].
--mode dpo: policy = the MLP LM (random init, fixed seed), reference = frozen copy of it.
  One step: the 2*B*T answer-token contexts (chosen and rejected stacked) as one batch;
  sequence log-probs lp = sum over the T answer tokens of log p(y_t | ctx) under the policy
  (with grad) and the reference (inference mode, recomputed every step);
  loss = mean over pairs of -log sigma(beta * ((lp_c - lr_c) - (lp_r - lr_r))), beta 0.1;
  backward; Adam lr 1e-3.
--mode rm: reward model = the same MLP trunk plus a scalar head r = w . logits + b
  (Linear(V,1)) read at the position after the answer (context = the last K tokens of the
  sequence). One step: r for the 2*B sequences in one batch, loss = mean over pairs of
  -log sigma(r_c - r_r) (Bradley-Terry), backward, Adam lr 1e-3 on trunk and head.
Timing: wall time per step (context gather included), median over --steps after --warmup.
Last line: torch pref-dpo|pref-rm threads=N intraop=M omp_wait=... malloc=... batch=B
           steps_per_s=X pairs_per_s=Y
"""
import argparse
import json
import os
import statistics
import time

ap = argparse.ArgumentParser()
ap.add_argument("--mode", choices=["dpo", "rm"], default="dpo")
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--intraop", type=int, default=0)
ap.add_argument("--steps", type=int, default=30)
ap.add_argument("--warmup", type=int, default=3)
ap.add_argument("--batch", type=int, default=256)
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--beta", type=float, default=0.1)
ap.add_argument("--fused-l1", action="store_true")
ap.add_argument("--malloc", choices=["tuned", "default"], default="tuned")
ap.add_argument("--json", default="")
args = ap.parse_args()
args.intraop = args.intraop or args.threads

# OpenBLAS (Debian's torch's GEMM) reads these when it loads: set them before torch.
os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
os.environ["OMP_NUM_THREADS"] = str(args.intraop)

if args.malloc == "tuned":
    import ctypes
    libc = ctypes.CDLL("libc.so.6")
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    assert libc.mallopt(M_MMAP_THRESHOLD, 32 << 20) == 1
    assert libc.mallopt(M_TRIM_THRESHOLD, 1 << 30) == 1

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

torch.set_num_threads(args.intraop)
torch.manual_seed(args.seed)

V, K, D, P, T, H, LR = 32, 8, 32, 8, 16, 256, 1e-3
B = args.batch
L = K + P + T  # buffer length


class MLPLM(torch.nn.Module):
    """The opd-mlp-small MLP LM (same as ../shared/bench/opd_mlp_torch.py)."""

    def __init__(self, hidden):
        super().__init__()
        self.emb = torch.nn.Embedding(V, D)
        self.fc1 = torch.nn.Linear(K * D, hidden)
        self.fc2 = torch.nn.Linear(hidden, V)
        self.register_buffer("offsets", torch.arange(K) * V)

    def l1_table(self):
        H_ = self.fc1.out_features
        w = self.fc1.weight.view(H_, K, D)
        return torch.einsum("vd,hkd->kvh", self.emb.weight, w).reshape(K * V, H_)

    def forward(self, ctx):  # ctx: (N, K) int64 -> logits (N, V)
        if args.fused_l1:
            h = F.embedding_bag(ctx + self.offsets, self.l1_table(), mode="sum") + self.fc1.bias
        else:
            h = self.fc1(self.emb(ctx).flatten(1))
        return self.fc2(torch.relu(h))


class RewardModel(torch.nn.Module):
    """The MLP trunk plus a scalar head on the logits: r = w . logits + b."""

    def __init__(self):
        super().__init__()
        self.lm = MLPLM(H)
        self.head = torch.nn.Linear(V, 1)

    def forward(self, ctx):  # (N, K) -> (N,)
        return self.head(self.lm(ctx)).squeeze(1)


# the fixed data set: rows 0..B-1 chosen, B..2B-1 rejected (same prompts)
g = torch.Generator().manual_seed(args.seed + 1)
prompts = torch.randint(1, V, (B, P), generator=g)
buf = torch.zeros(2 * B, L, dtype=torch.long)
buf[:, K:K + P] = torch.cat([prompts, prompts])
buf[:, K + P:] = torch.randint(1, V, (2 * B, T), generator=g)

if args.mode == "dpo":
    model = MLPLM(H)
    ref = MLPLM(H)
    ref.load_state_dict(model.state_dict())
    ref.requires_grad_(False)
else:
    model = RewardModel()
opt = torch.optim.Adam(model.parameters(), lr=LR)


def dpo_step():
    # contexts of the 2*B*T answer tokens: positions K+P .. L-1, context buf[j-K:j]
    ctx = buf[:, P:L - 1].unfold(1, K, 1).reshape(2 * B * T, K)
    y = buf[:, K + P:].reshape(2 * B * T)
    with torch.inference_mode():
        lr_ = -F.cross_entropy(ref(ctx), y, reduction="none").view(2 * B, T).sum(1)
    lp = -F.cross_entropy(model(ctx), y, reduction="none").view(2 * B, T).sum(1)
    margin = (lp[:B] - lr_[:B]) - (lp[B:] - lr_[B:])
    loss = -F.logsigmoid(args.beta * margin).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
        acc = float((margin > 0).float().mean())
    return float(loss), acc


def rm_step():
    ctx = buf[:, L - K:]  # the position after the answer: the last K tokens
    r = model(ctx)
    d = r[:B] - r[B:]
    loss = -F.logsigmoid(d).mean()
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    with torch.no_grad():
        acc = float((d > 0).float().mean())
    return float(loss), acc


step = dpo_step if args.mode == "dpo" else rm_step
for _ in range(args.warmup):
    step()
times = []
for _ in range(args.steps):
    t0 = time.perf_counter()
    loss, acc = step()
    times.append(time.perf_counter() - t0)

med = statistics.median(times)
impl = "torch-fused-l1" if args.fused_l1 else "torch"
work = f"pref-{args.mode}"
res = {
    "impl": impl, "workload": work, "threads": args.threads, "intraop": args.intraop,
    "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""), "malloc": args.malloc,
    "batch_pairs": B, "beta": args.beta if args.mode == "dpo" else None, "steps": args.steps,
    "step_ms_median": med * 1e3, "step_ms_min": min(times) * 1e3,
    "step_ms_max": max(times) * 1e3, "steps_per_s": 1 / med, "pairs_per_s": B / med,
    "last_loss": loss, "last_pair_accuracy": acc, "torch": torch.__version__,
}
print(f"# step ms median {med*1e3:.2f} (min {min(times)*1e3:.2f}, max {max(times)*1e3:.2f}); "
      f"last: loss {loss:.4f} pair accuracy {acc:.3f}")
if args.json:
    with open(args.json, "w") as f:
        json.dump(res, f, indent=1)
print(f"{impl} {work} threads={args.threads} intraop={args.intraop} "
      f"omp_wait={os.environ.get('OMP_WAIT_POLICY', '-')} malloc={args.malloc} batch={B} "
      f"steps_per_s={1/med:.3f} pairs_per_s={B/med:.0f}")
