"""The benchmark's reference training step in PyTorch, for a side-by-side figure.

Same shape as bench/reference_step.ts (d=256, 4 layers, 4 heads, seq 128, batch 8, vocab 8192,
tied head, LoRA r=8 alpha 16 on all seven projections, AdamW, grad clip 0.3). The frozen base is
float32: bitsandbytes (NF4) has no CPU build in Debian. Prints one JSON line.
Usage: /usr/bin/python3 bench/torch_step.py THREADS STEPS [full]
       /usr/bin/python3 bench/torch_step.py THREADS serve [full]
With `serve`, it prints one JSON line when ready, then runs one step per line read from stdin and
prints its time, so that a caller can interleave its own steps with these on a shared machine.
BENCH_TORCH_DEVICE=cuda runs it on the GPU instead.
"""
import json, math, os, sys, time
import torch
import torch.nn.functional as F

threads, serve = int(sys.argv[1]), sys.argv[2] == "serve"
steps = 0 if serve else int(sys.argv[2])
full = len(sys.argv) > 3 and sys.argv[3] == "full"
torch.set_num_threads(threads)
torch.manual_seed(0)
dev = os.environ.get("BENCH_TORCH_DEVICE", "cpu")
V, d, L, H, ffn, T, B, r = 8192, 256, 4, 4, 688, 128, 8, 8
hd = d // H

class Lora(torch.nn.Module):
    def __init__(self, out, inp):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(out, inp) * 0.02, requires_grad=full)
        self.a = torch.nn.Parameter(torch.empty(r, inp).uniform_(-1 / math.sqrt(inp), 1 / math.sqrt(inp)), requires_grad=not full)
        self.b = torch.nn.Parameter(torch.zeros(out, r), requires_grad=not full)
    def forward(self, x):
        y = x @ self.w.T
        return y if full else y + (x @ self.a.T @ self.b.T) * 2.0

def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6))

class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Parameter(torch.randn(V, d) * 0.02, requires_grad=full)
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            m = torch.nn.ModuleDict({k: Lora(o, i) for k, (o, i) in {
                "q": (d, d), "k": (d, d), "v": (d, d), "o": (d, d),
                "gate": (ffn, d), "up": (ffn, d), "down": (d, ffn)}.items()})
            m.n1 = torch.nn.Parameter(torch.ones(d), requires_grad=full)
            m.n2 = torch.nn.Parameter(torch.ones(d), requires_grad=full)
            self.layers.append(m)
        self.norm = torch.nn.Parameter(torch.ones(d), requires_grad=full)
        inv = 1.0 / (10000 ** (torch.arange(0, hd, 2).float() / hd))
        f = torch.outer(torch.arange(T).float(), inv)
        e = torch.cat((f, f), -1)
        self.cos, self.sin = e.cos()[None, None], e.sin()[None, None]
    def forward(self, ids):
        x = self.emb[ids]
        mask = torch.full((T, T), float("-inf"), device=ids.device).triu(1)
        rot = lambda t: torch.cat((-t[..., hd // 2:], t[..., :hd // 2]), -1)
        for m in self.layers:
            h = rms(x, m.n1)
            q, k, v = (m[n](h).view(B, T, H, hd).transpose(1, 2) for n in "qkv")
            q = q * self.cos + rot(q) * self.sin
            k = k * self.cos + rot(k) * self.sin
            a = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(hd) + mask, -1) @ v
            x = x + m["o"](a.transpose(1, 2).reshape(B, T, d))
            h = rms(x, m.n2)
            x = x + m["down"](F.silu(m["gate"](h)) * m["up"](h))
        return rms(x, self.norm) @ self.emb.T

model = Model().to(dev)
model.cos, model.sin = model.cos.to(dev), model.sin.to(dev)
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=2e-4)
ids = torch.randint(0, V, (B, T)).to(dev)
labels = torch.cat((ids[:, 1:], torch.full((B, 1), -100, device=dev)), 1)

def step():
    logits = model(ids)
    loss = F.cross_entropy(logits.view(-1, V), labels.reshape(-1), ignore_index=-100)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 0.3 if not full else 1.0)
    opt.step()
    return loss.item()

step(); step()
info = {"device": dev, "threads": threads, "torch": torch.__version__}
if serve:
    print(json.dumps({"ready": True, **info}), flush=True)
    for _ in sys.stdin:
        t0 = time.perf_counter(); step()
        print(json.dumps({"msPerStep": (time.perf_counter() - t0) * 1000}), flush=True)
    sys.exit(0)
times = []
for _ in range(steps):
    t0 = time.perf_counter(); step(); times.append(time.perf_counter() - t0)
times.sort()
ms = times[len(times) // 2] * 1000
print(json.dumps({**info, "msPerStep": ms, "tokensPerSecond": B * T / ms * 1000}))
