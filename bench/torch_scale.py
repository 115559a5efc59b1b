"""PyTorch on the scale bench's shape, for a side-by-side figure (see bench/scale.ts).

Reads the shape from a checkpoint's config.json (Llama: hidden, layers, heads, kv heads, MLP,
vocabulary, tied or untied head, RoPE theta and linear scaling) and builds a float32 frozen base with
random weights (bitsandbytes' NF4 has no CPU build in Debian) plus LoRA (r, alpha 16) on all
seven projections. Times scoring SEQ tokens (a forward pass without gradients), STEPS training
steps on SEQ tokens at batch 1 (AdamW, gradient clipping 0.3, the last step reported) and greedy
generation of NEW tokens after a 16-token prompt with a KV cache (the prompt's pass included). Prints one JSON line per phase
with the process's peak RSS so far (the model is built once, so each figure includes it).
Usage: /usr/bin/python3 bench/torch_scale.py CONFIG_JSON THREADS SEQ STEPS NEW [R]
"""
import json, math, resource, sys, time
import torch
import torch.nn.functional as F

cfg_file, threads, T, steps, new = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
r = int(sys.argv[6]) if len(sys.argv) > 6 else 64
cfg = json.load(open(cfg_file))
torch.set_num_threads(threads)
torch.manual_seed(0)
V, d, L = cfg["vocab_size"], cfg["hidden_size"], cfg["num_hidden_layers"]
H = cfg["num_attention_heads"]
KV = cfg.get("num_key_value_heads", H)
ffn = cfg["intermediate_size"]
hd = d // H
eps = cfg.get("rms_norm_eps", 1e-6)
theta = cfg.get("rope_theta", 10000.0)
scaling = cfg.get("rope_scaling") or {}
scale = scaling.get("factor", 1.0) if scaling.get("type") == "linear" else 1.0
alpha = 16.0


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Lora(torch.nn.Module):
    def __init__(self, out, inp):
        super().__init__()
        self.w = torch.nn.Parameter(torch.empty(out, inp).normal_(0, 0.02), requires_grad=False)
        bound = 1 / math.sqrt(inp)
        self.a = torch.nn.Parameter(torch.empty(r, inp).uniform_(-bound, bound))
        self.b = torch.nn.Parameter(torch.zeros(out, r))

    def forward(self, x):
        return x @ self.w.T + (x @ self.a.T @ self.b.T) * (alpha / r)


def rms(x, w):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate(t):
    return torch.cat((-t[..., hd // 2:], t[..., :hd // 2]), -1)


class Model(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = torch.nn.Parameter(torch.empty(V, d).normal_(0, 0.02), requires_grad=False)
        tied = cfg.get("tie_word_embeddings", False)
        self.head = self.emb if tied else torch.nn.Parameter(torch.empty(V, d).normal_(0, 0.02), requires_grad=False)
        shapes = {"q": (H * hd, d), "k": (KV * hd, d), "v": (KV * hd, d), "o": (d, H * hd),
                  "gate": (ffn, d), "up": (ffn, d), "down": (d, ffn)}
        self.layers = torch.nn.ModuleList()
        for _ in range(L):
            m = torch.nn.ModuleDict({k: Lora(o, i) for k, (o, i) in shapes.items()})
            m.n1 = torch.nn.Parameter(torch.ones(d), requires_grad=False)
            m.n2 = torch.nn.Parameter(torch.ones(d), requires_grad=False)
            self.layers.append(m)
        self.norm = torch.nn.Parameter(torch.ones(d), requires_grad=False)
        self.inv = 1.0 / (theta ** (torch.arange(0, hd, 2).float() / hd))

    def forward(self, ids, cache=None):
        B, n = ids.shape
        past = 0 if cache is None or cache[0] is None else cache[0][0].shape[2]
        pos = torch.arange(past, past + n).float() / scale
        f = torch.outer(pos, self.inv)
        e = torch.cat((f, f), -1)
        cos, sin = e.cos()[None, None], e.sin()[None, None]
        mask = torch.full((n, past + n), float("-inf")).triu(past + 1)
        x = self.emb[ids]
        for li, m in enumerate(self.layers):
            h = rms(x, m.n1)
            q = m["q"](h).view(B, n, H, hd).transpose(1, 2)
            k = m["k"](h).view(B, n, KV, hd).transpose(1, 2)
            v = m["v"](h).view(B, n, KV, hd).transpose(1, 2)
            q = q * cos + rotate(q) * sin
            k = k * cos + rotate(k) * sin
            if cache is not None:
                if cache[li] is not None:
                    k = torch.cat((cache[li][0], k), 2)
                    v = torch.cat((cache[li][1], v), 2)
                cache[li] = (k, v)
            if KV != H:
                k = k.repeat_interleave(H // KV, 1)
                v = v.repeat_interleave(H // KV, 1)
            a = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(hd) + mask, -1) @ v
            x = x + m["o"](a.transpose(1, 2).reshape(B, n, H * hd))
            h = rms(x, m.n2)
            x = x + m["down"](F.silu(m["gate"](h)) * m["up"](h))
        return rms(x, self.norm) @ self.head.T


def report(phase, **figures):
    print(json.dumps({"phase": phase, "torch": torch.__version__, "threads": threads,
                      "peakRssMiB": peak_rss_mib(), **figures}), flush=True)


t0 = time.perf_counter()
model = Model()
report("build", seconds=time.perf_counter() - t0,
       parameters=sum(p.numel() for p in model.parameters()))

ids = torch.randint(0, V, (1, T))
with torch.no_grad():
    t0 = time.perf_counter()
    logp = torch.log_softmax(model(ids)[0, :-1], -1).gather(1, ids[0, 1:, None])
    s = time.perf_counter() - t0
report("score", seconds=s, tokensPerSecond=T / s, finite=bool(torch.isfinite(logp).all()))

params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=2e-4)
labels = ids[0, 1:]
times, losses = [], []
for _ in range(steps):
    t0 = time.perf_counter()
    loss = F.cross_entropy(model(ids)[0, :-1], labels)
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 0.3)
    opt.step()
    times.append(time.perf_counter() - t0)
    losses.append(loss.item())
report("train", secondsPerStep=times, tokensPerSecond=T / times[-1], losses=losses)

with torch.no_grad():
    t0 = time.perf_counter()
    cache = [None] * L
    token = model(ids[:, :16], cache)[:, -1].argmax(-1, keepdim=True)
    for _ in range(new - 1):
        token = model(token, cache)[:, -1].argmax(-1, keepdim=True)
    s = time.perf_counter() - t0
report("generate", seconds=s, tokensPerSecond=new / s)
