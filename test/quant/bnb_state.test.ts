import { test } from "node:test";
import assert from "node:assert/strict";
import {
  BNB_STATE_SUFFIX,
  fromBnbTensors,
  hfQuantizationConfig,
  pythonFloatRepr,
  toBnbTensors,
  type BnbTensor,
} from "../../src/quant/bnb_state";
import { DYNAMIC_MAP, dequantizeNf4Double, quantizeNf4Double } from "../../src/quant/double_quant";
import { quantizeNf4 } from "../../src/quant/nf4";

const PREFIX = "model.layers.0.self_attn.q_proj";
const text = (t: BnbTensor): string => new TextDecoder().decode(t.data);
const asMap = (r: Record<string, BnbTensor>): Map<string, BnbTensor> => new Map(Object.entries(r));

/** The 70-value example of nf4.test.ts: absmax [2, 0.75], 35 packed bytes. */
function example70(): Float32Array {
  const pattern = [2, -2, 0, 0.5, -0.5, 1, -1, 0.3];
  const x = new Float32Array(70);
  for (let i = 0; i < 64; i++) x[i] = pattern[i % 8];
  x.set([0.75, -0.375, 0.1, 0.6, -0.7, 0], 64);
  return x;
}

test("Python float repr, as json.dumps writes nested_offset", () => {
  const cases: [number, string][] = [
    [0.1, "0.1"],
    [Math.fround(0.1), "0.10000000149011612"],
    [2, "2.0"],
    [-0.5, "-0.5"],
    [0.0001, "0.0001"],
    [0.00001, "1e-05"],
    [1.5e-7, "1.5e-07"],
    [5.500000384017767e-7, "5.500000384017767e-07"],
    [1e15, "1000000000000000.0"],
    [1e16, "1e+16"],
    [123456789012345680, "1.2345678901234568e+17"],
    [0, "0.0"],
  ];
  for (const [x, s] of cases) assert.equal(pythonFloatRepr(x), s, `repr(${x})`);
});

test("plain NF4 weight: tensor names, dtypes, shapes, bytes and quant-state JSON", () => {
  const quant = quantizeNf4(example70(), 64);
  const t = toBnbTensors(PREFIX, { shape: [2, 35], dtype: "bfloat16", quant });
  const w = `${PREFIX}.weight`;
  assert.deepEqual(Object.keys(t), [
    w,
    `${w}.absmax`,
    `${w}.quant_map`,
    `${w}.quant_state.bitsandbytes__nf4`,
  ]);
  // Packed codes stored as U8 [ceil(n/2), 1], as bitsandbytes allocates them.
  assert.equal(t[w].dtype, "U8");
  assert.deepEqual(t[w].shape, [35, 1]);
  assert.deepEqual(Array.from(t[w].data.slice(0, 4)), [0xf0, 0x7a, 0x4c, 0x29]);
  assert.deepEqual(Array.from(t[w].data.slice(32)), [0xf2, 0x9e, 0x07]);
  // absmax F32 [2]: 2.0 = 0x40000000, 0.75 = 0x3F400000, little-endian.
  assert.deepEqual(t[`${w}.absmax`], {
    dtype: "F32",
    shape: [2],
    data: Uint8Array.from([0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x3f]),
  });
  // quant_map F32 [16]: first -1.0 = 0xBF800000, index 7 0.0, last 1.0 = 0x3F800000.
  const qm = t[`${w}.quant_map`];
  assert.equal(qm.dtype, "F32");
  assert.deepEqual(qm.shape, [16]);
  assert.deepEqual(Array.from(qm.data.slice(0, 4)), [0x00, 0x00, 0x80, 0xbf]);
  assert.deepEqual(Array.from(qm.data.slice(28, 32)), [0, 0, 0, 0]);
  assert.deepEqual(Array.from(qm.data.slice(60, 64)), [0x00, 0x00, 0x80, 0x3f]);
  // Python's json.dumps of the non-tensor items (", " and ": " separators, shape as a list).
  const state = t[PREFIX + BNB_STATE_SUFFIX];
  const json = '{"quant_type": "nf4", "blocksize": 64, "dtype": "bfloat16", "shape": [2, 35]}';
  assert.equal(state.dtype, "U8");
  assert.deepEqual(state.shape, [json.length]);
  assert.equal(text(state), json);

  const back = fromBnbTensors(PREFIX, asMap(t));
  assert.deepEqual(back.shape, [2, 35]);
  assert.equal(back.dtype, "bfloat16");
  assert.equal(back.n, 70);
  assert.deepEqual(back.quant, quant);
  assert.equal(back.bytes, 35 + 8);
  assert.deepEqual(Array.from(back.dequantize().slice(0, 3)), [2, -2, 0]);
});

test("double-quantized weight: nested tensors and the nested_* JSON fields", () => {
  // Block absmax [0.1, 0.1]: offset = float32 0.1 (Python repr 0.10000000149011612); the
  // centered absmax are [0, 0], so the nested absmax is 0 and both 8-bit codes are 0.
  const x = new Float32Array(128);
  x[0] = 0.1;
  x[64] = -0.1;
  const quant = quantizeNf4Double(x, 64);
  const t = toBnbTensors(PREFIX, { shape: [4, 32], dtype: "float16", quant });
  const w = `${PREFIX}.weight`;
  assert.deepEqual(Object.keys(t), [
    w,
    `${w}.absmax`,
    `${w}.quant_map`,
    `${w}.nested_absmax`,
    `${w}.nested_quant_map`,
    `${w}.quant_state.bitsandbytes__nf4`,
  ]);
  assert.deepEqual(t[w].shape, [64, 1]);
  assert.deepEqual(t[`${w}.absmax`], { dtype: "U8", shape: [2], data: Uint8Array.from([0, 0]) });
  assert.deepEqual(t[`${w}.nested_absmax`], { dtype: "F32", shape: [1], data: new Uint8Array(4) });
  const nqm = t[`${w}.nested_quant_map`];
  assert.equal(nqm.dtype, "F32");
  assert.deepEqual(nqm.shape, [256]);
  // 1.0 = 0x3F800000 is the last entry of the map.
  assert.deepEqual(Array.from(nqm.data.slice(1020)), [0x00, 0x00, 0x80, 0x3f]);
  assert.equal(
    text(t[PREFIX + BNB_STATE_SUFFIX]),
    '{"quant_type": "nf4", "blocksize": 64, "dtype": "float16", "shape": [4, 32], ' +
      '"nested_blocksize": 256, "nested_dtype": "float32", "nested_offset": 0.10000000149011612}',
  );

  const back = fromBnbTensors(PREFIX, asMap(t));
  assert.equal(back.dtype, "float16");
  assert.deepEqual(back.quant, quant);
  assert.deepEqual(back.dequantize(), dequantizeNf4Double(quant));
  // code[0] * 0 + offset: the absmax comes back as float32 0.1, so x[0] and x[64] come back.
  assert.equal(back.dequantize()[0], Math.fround(0.1));
  assert.equal(back.dequantize()[64], -Math.fround(0.1));
  assert.equal(back.bytes, 64 + 2 + 4 + 4);
  assert.deepEqual(Array.from(back.quant.absmax), [0, 0]);
  assert.ok("nested" in back.quant && back.quant.nested.code.every((v, i) => v === DYNAMIC_MAP[i]));
});

test("reading a quant state written by Python: any key order, offset parsed to float32", () => {
  const quant = quantizeNf4Double(example70(), 64);
  const t = asMap(toBnbTensors(PREFIX, { shape: [70], dtype: "float32", quant }));
  const reordered =
    '{"shape": [70], "dtype": "float32", "blocksize": 64, "quant_type": "nf4", "nested_offset": ' +
    `${pythonFloatRepr(quant.nested.offset)}, "nested_dtype": "float32", "nested_blocksize": 256}`;
  const data = new TextEncoder().encode(reordered);
  t.set(PREFIX + BNB_STATE_SUFFIX, { dtype: "U8", shape: [data.length], data });
  const back = fromBnbTensors(PREFIX, t);
  assert.deepEqual(back.shape, [70]);
  assert.equal(back.quant.n, 70);
  assert.deepEqual(back.dequantize(), dequantizeNf4Double(quant));
});

test("malformed tensors are refused with the tensor named", () => {
  const quant = quantizeNf4(example70(), 64);
  const good = toBnbTensors(PREFIX, { shape: [2, 35], dtype: "float32", quant });
  const w = `${PREFIX}.weight`;
  const state = PREFIX + BNB_STATE_SUFFIX;
  const withTensor = (
    name: string,
    t: BnbTensor | { dtype: string; shape: number[]; data: Uint8Array } | null,
  ) => {
    const m = new Map<string, { dtype: string; shape: number[]; data: Uint8Array }>(
      Object.entries(good),
    );
    if (t) m.set(name, t);
    else m.delete(name);
    return m;
  };
  const json = (s: string) => {
    const data = new TextEncoder().encode(s);
    return { dtype: "U8", shape: [data.length], data };
  };
  const cases: [Map<string, { dtype: string; shape: number[]; data: Uint8Array }>, RegExp][] = [
    [withTensor(state, null), new RegExp(`missing tensor ${state.replace(/\./g, "\\.")}`)],
    [withTensor(`${w}.absmax`, null), /missing tensor .*weight\.absmax/],
    [withTensor(w, { ...good[w], shape: [35] }), /weight: shape \[35\], expected \[35,1\]/],
    [
      withTensor(`${w}.absmax`, { ...good[`${w}.absmax`], dtype: "F16" }),
      /absmax: dtype F16, expected F32/,
    ],
    [
      withTensor(`${w}.absmax`, { dtype: "F32", shape: [2], data: new Uint8Array(4) }),
      /absmax: 4 bytes, expected 8/,
    ],
    [
      withTensor(`${w}.quant_map`, { ...good[`${w}.quant_map`], data: new Uint8Array(64) }),
      /quant_map: value 0 at index 0/,
    ],
    [withTensor(state, json("{not json")), /bitsandbytes__nf4: not UTF-8 JSON/],
    [
      withTensor(
        state,
        json('{"quant_type": "fp4", "blocksize": 64, "dtype": "float32", "shape": [70]}'),
      ),
      /"quant_type" is "fp4"/,
    ],
    [
      withTensor(
        state,
        json('{"quant_type": "nf4", "blocksize": 48, "dtype": "float32", "shape": [70]}'),
      ),
      /blocksize must be a power of two/,
    ],
    [
      withTensor(
        state,
        json('{"quant_type": "nf4", "blocksize": 64, "dtype": "int8", "shape": [70]}'),
      ),
      /"dtype" is "int8"/,
    ],
    [
      withTensor(
        state,
        json('{"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [7, 11]}'),
      ),
      /weight: shape \[35,1\], expected \[39,1\]/,
    ],
    [
      withTensor(
        state,
        json(
          '{"quant_type": "nf4", "blocksize": 64, "dtype": "float32", "shape": [70], "nested_offset": 1.0}',
        ),
      ),
      /has nested_offset but not all/,
    ],
    [
      withTensor(`${w}.nested_absmax`, { dtype: "F32", shape: [1], data: new Uint8Array(4) }),
      /nested_absmax present but .* has no nested_\* fields/,
    ],
  ];
  for (const [tensors, re] of cases) assert.throws(() => fromBnbTensors(PREFIX, tensors), re);
  // FP4 weights: said so plainly.
  const fp4 = withTensor(state, null);
  fp4.set(`${w}.quant_state.bitsandbytes__fp4`, json("{}"));
  assert.throws(() => fromBnbTensors(PREFIX, fp4), /FP4 weights are not supported/);
  // Shape disagreeing with the quantized size when writing.
  assert.throws(
    () => toBnbTensors(PREFIX, { shape: [7, 11], dtype: "float32", quant }),
    /holds 77 values, quantized n=70/,
  );
});

test("quantization_config as transformers' BitsAndBytesConfig.to_dict() writes it", () => {
  // BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4",
  //   bnb_4bit_use_double_quant=True, bnb_4bit_compute_dtype=torch.bfloat16).to_dict():
  // __dict__ in assignment order, the two dtypes as names, then the load_in_* properties.
  const expected = {
    quant_method: "bitsandbytes",
    _load_in_8bit: false,
    _load_in_4bit: true,
    llm_int8_threshold: 6.0,
    llm_int8_skip_modules: null,
    llm_int8_enable_fp32_cpu_offload: false,
    llm_int8_has_fp16_weight: false,
    bnb_4bit_quant_type: "nf4",
    bnb_4bit_use_double_quant: true,
    bnb_4bit_compute_dtype: "bfloat16",
    bnb_4bit_quant_storage: "uint8",
    load_in_4bit: true,
    load_in_8bit: false,
  };
  const got = hfQuantizationConfig({ doubleQuant: true, computeDtype: "bfloat16" });
  assert.deepEqual(got, expected);
  assert.deepEqual(Object.keys(got), Object.keys(expected));
  const plain = hfQuantizationConfig({ doubleQuant: false, computeDtype: "float16" });
  assert.equal(plain.bnb_4bit_use_double_quant, false);
  assert.equal(plain.bnb_4bit_compute_dtype, "float16");
});
