"""Independent reference for the decoder's semantics, written in PyTorch after Hugging Face's
modeling_llama (LlamaRMSNorm, LlamaRotaryEmbedding with linear scaling, rotate_half,
apply_rotary_pos_emb, repeat_kv, eager attention, LlamaMLP, lm_head).

It writes tiny random Llama checkpoints (config.json + model.safetensors, written here with
struct/json, not by the project's writer) and the expected per-token log-probabilities.
The TypeScript tests load these fixtures and must agree. Regenerate with:
    /usr/bin/python3 test/reference/llama_reference.py test/fixtures/llama
(Debian's python3-torch; no transformers needed.)
"""
import json, math, os, struct, sys
import torch

def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].contiguous().to(torch.float32)
        b = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))

def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))

def rotate_half(x):
    d = x.shape[-1] // 2
    return torch.cat((-x[..., d:], x[..., :d]), dim=-1)

def forward(cfg, W, ids):
    d, H = cfg["hidden_size"], cfg["num_attention_heads"]
    KV = cfg["num_key_value_heads"]
    hd = d // H
    T = ids.shape[1]
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    t = torch.arange(T, dtype=torch.float32)
    if cfg.get("rope_scaling"):
        t = t / cfg["rope_scaling"]["factor"]
    freqs = torch.outer(t, inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    cos, sin = emb.cos()[None, None], emb.sin()[None, None]
    x = W["model.embed_tokens.weight"][ids]
    causal = torch.full((T, T), float("-inf")).triu(1)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        h = rms_norm(x, W[p + "input_layernorm.weight"], cfg["rms_norm_eps"])
        q = (h @ W[p + "self_attn.q_proj.weight"].T).view(1, T, H, hd).transpose(1, 2)
        k = (h @ W[p + "self_attn.k_proj.weight"].T).view(1, T, KV, hd).transpose(1, 2)
        v = (h @ W[p + "self_attn.v_proj.weight"].T).view(1, T, KV, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        n_rep = H // KV
        k = k[:, :, None].expand(1, KV, n_rep, T, hd).reshape(1, H, T, hd)
        v = v[:, :, None].expand(1, KV, n_rep, T, hd).reshape(1, H, T, hd)
        att = torch.softmax(q @ k.transpose(2, 3) / math.sqrt(hd) + causal, dim=-1)
        o = (att @ v).transpose(1, 2).reshape(1, T, d)
        x = x + o @ W[p + "self_attn.o_proj.weight"].T
        h = rms_norm(x, W[p + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
        g = h @ W[p + "mlp.gate_proj.weight"].T
        u = h @ W[p + "mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ W[p + "mlp.down_proj.weight"].T
    x = rms_norm(x, W["model.norm.weight"], cfg["rms_norm_eps"])
    head = W["model.embed_tokens.weight"] if cfg["tie_word_embeddings"] else W["lm_head.weight"]
    return x @ head.T

def make(out, name, cfg, seed):
    torch.manual_seed(seed)
    d, ffn, V = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    hd = d // cfg["num_attention_heads"]
    kvd = cfg["num_key_value_heads"] * hd
    W = {"model.embed_tokens.weight": torch.randn(V, d) * 0.5, "model.norm.weight": 1 + 0.1 * torch.randn(d)}
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        shapes = {"self_attn.q_proj": (d, d), "self_attn.k_proj": (kvd, d), "self_attn.v_proj": (kvd, d),
                  "self_attn.o_proj": (d, d), "mlp.gate_proj": (ffn, d), "mlp.up_proj": (ffn, d),
                  "mlp.down_proj": (d, ffn)}
        for m, s in shapes.items():
            W[p + m + ".weight"] = torch.randn(*s) / math.sqrt(s[1])
        W[p + "input_layernorm.weight"] = 1 + 0.1 * torch.randn(d)
        W[p + "post_attention_layernorm.weight"] = 1 + 0.1 * torch.randn(d)
    if not cfg["tie_word_embeddings"]:
        W["lm_head.weight"] = torch.randn(V, d) / math.sqrt(d)
    ids = torch.randint(0, V, (1, 12))
    with torch.no_grad():
        logits = forward(cfg, W, ids)
    logp = torch.log_softmax(logits[0].double(), dim=-1)
    lp = [logp[i, ids[0, i + 1]].item() for i in range(ids.shape[1] - 1)]
    d_out = os.path.join(out, name)
    os.makedirs(d_out, exist_ok=True)
    with open(os.path.join(d_out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(d_out, "model.safetensors"), W)
    with open(os.path.join(d_out, "expected.json"), "w") as f:
        json.dump({"ids": ids[0].tolist(), "logprobs": lp, "last_logits": logits[0, -1].tolist()}, f)

base = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "vocab_size": 48, "hidden_size": 32,
        "intermediate_size": 40, "num_hidden_layers": 2, "num_attention_heads": 4, "rms_norm_eps": 1e-6,
        "hidden_act": "silu", "max_position_embeddings": 64}
out = sys.argv[1]
make(out, "gqa-untied-scaled", {**base, "num_key_value_heads": 2, "rope_theta": 100000.0,
     "rope_scaling": {"type": "linear", "factor": 4.0}, "tie_word_embeddings": False}, 1)
make(out, "mha-tied", {**base, "num_key_value_heads": 4, "rope_theta": 10000.0, "tie_word_embeddings": True}, 2)
