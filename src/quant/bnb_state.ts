/**
 * The serialized bitsandbytes 4-bit layout of one linear weight (Linear4bit._save_to_state_dict
 * with QuantState.as_dict(packed=True)), and the `quantization_config` transformers writes into
 * config.json for such a model. For a module `prefix` the tensors are:
 *   prefix.weight                               U8  [ceil(n/2), 1]  packed NF4 codes
 *   prefix.weight.absmax                        F32 [blocks]  (U8 [blocks] when double-quantized)
 *   prefix.weight.quant_map                     F32 [16]      the NF4 table
 *   prefix.weight.nested_absmax                 F32 [ceil(blocks/256)]      double quant only
 *   prefix.weight.nested_quant_map              F32 [256]                   double quant only
 *   prefix.weight.quant_state.bitsandbytes__nf4 U8  [len]  UTF-8 of Python's json.dumps of
 *     {"quant_type", "blocksize", "dtype", "shape", ["nested_blocksize", "nested_dtype",
 *      "nested_offset"]}, dtype names without "torch." (e.g. "float16"), shape as a list.
 */
import { blockCount, validateBlocksize } from "./blockwise";
import {
  dequantizeNf4Double,
  isDoubleQuantized,
  NESTED_BLOCKSIZE,
  type Nf4DoubleQuantized,
} from "./double_quant";
import { dequantizeNf4, NF4_CODE, type Nf4Quantized } from "./nf4";

/** Suffix of the tensor holding the JSON quant state of an NF4 weight. */
export const BNB_STATE_SUFFIX = ".weight.quant_state.bitsandbytes__nf4";

/** torch dtype names bitsandbytes records for the original weight. */
export type BnbDtype = "float32" | "float16" | "bfloat16";
const BNB_DTYPES: readonly BnbDtype[] = ["float32", "float16", "bfloat16"];

/** One serialized tensor: dtype, shape and raw little-endian bytes. */
export interface BnbTensor {
  dtype: "U8" | "F32";
  shape: number[];
  data: Uint8Array;
}

/** A tensor as read from a checkpoint (any dtype name, checked here). */
export interface StoredTensor {
  dtype: string;
  shape: number[];
  data: Uint8Array;
}

/** An NF4 weight with what bitsandbytes records about the original tensor. */
export interface BnbNf4Weight {
  /** Shape of the original weight, e.g. [out, in]. */
  shape: number[];
  /** dtype of the original weight. */
  dtype: BnbDtype;
  quant: Nf4Quantized | Nf4DoubleQuantized;
}

/** A weight read back from bitsandbytes tensors. */
export interface LoadedBnbWeight extends BnbNf4Weight {
  /** Number of values (product of shape). */
  n: number;
  /** Bytes held by the quantized arrays. */
  bytes: number;
  /** The float32 weight values, row-major. */
  dequantize(): Float32Array;
}

/** A number as Python's repr(float) writes it (and so json.dumps): shortest round-trip digits. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  const [mantissa, exp] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const e = Number(exp);
  const point = e + 1; // value = 0.<digits> * 10^point
  if (point <= -4 || point > 16) {
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${e < 0 ? "-" : "+"}${String(Math.abs(e)).padStart(2, "0")}`;
  }
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}

/** The quant-state JSON text exactly as bitsandbytes' pack_dict_to_tensor writes it. */
export function quantStateJson(w: BnbNf4Weight): string {
  const q = w.quant;
  const fields = [
    `"quant_type": "nf4"`,
    `"blocksize": ${q.blocksize}`,
    `"dtype": "${w.dtype}"`,
    `"shape": [${w.shape.join(", ")}]`,
  ];
  if (isDoubleQuantized(q)) {
    fields.push(
      `"nested_blocksize": ${q.nested.blocksize}`,
      `"nested_dtype": "float32"`,
      `"nested_offset": ${pythonFloatRepr(q.nested.offset)}`,
    );
  }
  return `{${fields.join(", ")}}`;
}

function f32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
  return out;
}

function f32FromBytes(data: Uint8Array): Float32Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const out = new Float32Array(data.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The bitsandbytes tensors of weight `prefix.weight`, in bitsandbytes' order. */
export function toBnbTensors(prefix: string, w: BnbNf4Weight): Record<string, BnbTensor> {
  const q = w.quant;
  if (product(w.shape) !== q.n) {
    throw new Error(
      `${prefix}.weight: shape [${w.shape}] holds ${product(w.shape)} values, quantized n=${q.n}`,
    );
  }
  const p = `${prefix}.weight`;
  const out: Record<string, BnbTensor> = {
    [p]: { dtype: "U8", shape: [q.packed.length, 1], data: q.packed },
  };
  if (isDoubleQuantized(q)) {
    out[`${p}.absmax`] = { dtype: "U8", shape: [q.absmax.length], data: q.absmax };
  } else {
    out[`${p}.absmax`] = { dtype: "F32", shape: [q.absmax.length], data: f32Bytes(q.absmax) };
  }
  out[`${p}.quant_map`] = { dtype: "F32", shape: [16], data: f32Bytes(NF4_CODE) };
  if (isDoubleQuantized(q)) {
    const nested = q.nested;
    out[`${p}.nested_absmax`] = {
      dtype: "F32",
      shape: [nested.absmax.length],
      data: f32Bytes(nested.absmax),
    };
    out[`${p}.nested_quant_map`] = {
      dtype: "F32",
      shape: [nested.code.length],
      data: f32Bytes(nested.code),
    };
  }
  const json = new TextEncoder().encode(quantStateJson(w));
  out[prefix + BNB_STATE_SUFFIX] = { dtype: "U8", shape: [json.length], data: json };
  return out;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Fetch tensor `name`, checking its dtype, shape and byte length. */
function expectTensor(
  tensors: ReadonlyMap<string, StoredTensor>,
  name: string,
  dtype: "U8" | "F32",
  shape: number[],
): Uint8Array {
  const t = tensors.get(name);
  if (!t) throw new Error(`missing tensor ${name}`);
  if (t.dtype !== dtype) throw new Error(`tensor ${name}: dtype ${t.dtype}, expected ${dtype}`);
  if (!sameShape(t.shape, shape)) {
    throw new Error(`tensor ${name}: shape [${t.shape}], expected [${shape}]`);
  }
  const bytes = product(shape) * (dtype === "F32" ? 4 : 1);
  if (t.data.byteLength !== bytes) {
    throw new Error(`tensor ${name}: ${t.data.byteLength} bytes, expected ${bytes}`);
  }
  return t.data;
}

interface QuantStateMeta {
  blocksize: number;
  dtype: BnbDtype;
  shape: number[];
  nested?: { blocksize: number; offset: number };
}

function parseQuantState(name: string, data: Uint8Array): QuantStateMeta {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(data));
  } catch (e) {
    throw new Error(`tensor ${name}: not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof obj !== "object" || obj === null || Array.isArray(obj)) {
    throw new Error(`tensor ${name}: quant state is not a JSON object`);
  }
  const bad = (field: string, expected: string): Error =>
    new Error(
      `tensor ${name}: field "${field}" is ${JSON.stringify(obj[field])}, expected ${expected}`,
    );
  if (obj.quant_type !== "nf4") throw bad("quant_type", '"nf4"');
  const blocksize = obj.blocksize;
  if (typeof blocksize !== "number") throw bad("blocksize", "a power of two in 32..4096");
  validateBlocksize(blocksize, `tensor ${name}: blocksize`);
  if (!BNB_DTYPES.includes(obj.dtype as BnbDtype)) throw bad("dtype", BNB_DTYPES.join(" | "));
  const shape = obj.shape;
  if (
    !Array.isArray(shape) ||
    shape.length === 0 ||
    !shape.every((d) => Number.isInteger(d) && d > 0)
  ) {
    throw bad("shape", "a list of positive integers");
  }
  const meta: QuantStateMeta = {
    blocksize,
    dtype: obj.dtype as BnbDtype,
    shape: shape as number[],
  };
  const nestedKeys = ["nested_blocksize", "nested_dtype", "nested_offset"];
  const present = nestedKeys.filter((k) => k in obj);
  if (present.length === 0) return meta;
  if (present.length !== nestedKeys.length) {
    throw new Error(
      `tensor ${name}: has ${present.join(", ")} but not all of ${nestedKeys.join(", ")}`,
    );
  }
  if (obj.nested_blocksize !== NESTED_BLOCKSIZE)
    throw bad("nested_blocksize", `${NESTED_BLOCKSIZE}`);
  if (obj.nested_dtype !== "float32") throw bad("nested_dtype", '"float32"');
  if (typeof obj.nested_offset !== "number" || !Number.isFinite(obj.nested_offset)) {
    throw bad("nested_offset", "a finite number");
  }
  meta.nested = { blocksize: NESTED_BLOCKSIZE, offset: Math.fround(obj.nested_offset) };
  return meta;
}

/** Read the NF4 weight `prefix.weight` back from bitsandbytes tensors (inverse of toBnbTensors). */
export function fromBnbTensors(
  prefix: string,
  tensors: ReadonlyMap<string, StoredTensor>,
): LoadedBnbWeight {
  const p = `${prefix}.weight`;
  if (
    !tensors.has(prefix + BNB_STATE_SUFFIX) &&
    tensors.has(`${p}.quant_state.bitsandbytes__fp4`)
  ) {
    throw new Error(
      `tensor ${p}.quant_state.bitsandbytes__fp4: FP4 weights are not supported, only NF4`,
    );
  }
  const stateName = prefix + BNB_STATE_SUFFIX;
  const stateTensor = tensors.get(stateName);
  if (!stateTensor) throw new Error(`missing tensor ${stateName}`);
  const meta = parseQuantState(
    stateName,
    expectTensor(tensors, stateName, "U8", [stateTensor.data.byteLength]),
  );
  const n = product(meta.shape);
  const blocks = blockCount(n, meta.blocksize);
  const packed = expectTensor(tensors, p, "U8", [Math.ceil(n / 2), 1]);
  const quantMap = f32FromBytes(expectTensor(tensors, `${p}.quant_map`, "F32", [16]));
  const mismatch = NF4_CODE.findIndex((v, i) => !Object.is(v, quantMap[i]));
  if (mismatch >= 0) {
    throw new Error(
      `tensor ${p}.quant_map: value ${quantMap[mismatch]} at index ${mismatch}, expected the NF4 table (${NF4_CODE[mismatch]})`,
    );
  }
  let quant: Nf4Quantized | Nf4DoubleQuantized;
  if (meta.nested) {
    const nestedBlocks = blockCount(blocks, meta.nested.blocksize);
    quant = {
      packed,
      absmax: expectTensor(tensors, `${p}.absmax`, "U8", [blocks]),
      nested: {
        absmax: f32FromBytes(expectTensor(tensors, `${p}.nested_absmax`, "F32", [nestedBlocks])),
        code: f32FromBytes(expectTensor(tensors, `${p}.nested_quant_map`, "F32", [256])),
        offset: meta.nested.offset,
        blocksize: meta.nested.blocksize,
      },
      n,
      blocksize: meta.blocksize,
    };
  } else {
    for (const k of ["nested_absmax", "nested_quant_map"]) {
      if (tensors.has(`${p}.${k}`)) {
        throw new Error(`tensor ${p}.${k} present but ${stateName} has no nested_* fields`);
      }
    }
    quant = {
      packed,
      absmax: f32FromBytes(expectTensor(tensors, `${p}.absmax`, "F32", [blocks])),
      n,
      blocksize: meta.blocksize,
    };
  }
  const q = quant;
  const bytes = isDoubleQuantized(q)
    ? q.packed.byteLength + q.absmax.byteLength + q.nested.absmax.byteLength + 4
    : q.packed.byteLength + q.absmax.byteLength;
  return {
    shape: meta.shape,
    dtype: meta.dtype,
    quant: q,
    n,
    bytes,
    dequantize: () =>
      isDoubleQuantized(q)
        ? dequantizeNf4Double(q)
        : dequantizeNf4(q.packed, q.absmax, q.n, q.blocksize),
  };
}

/** torch dtype names transformers accepts for bnb_4bit_compute_dtype. */
export type ComputeDtype = "float32" | "float16" | "bfloat16";

/** transformers' BitsAndBytesConfig.to_dict() for a 4-bit NF4 model, key for key and in order. */
export function hfQuantizationConfig(opts: {
  doubleQuant: boolean;
  computeDtype: ComputeDtype;
}): Record<string, string | number | boolean | null> {
  return {
    quant_method: "bitsandbytes",
    _load_in_8bit: false,
    _load_in_4bit: true,
    llm_int8_threshold: 6.0,
    llm_int8_skip_modules: null,
    llm_int8_enable_fp32_cpu_offload: false,
    llm_int8_has_fp16_weight: false,
    bnb_4bit_quant_type: "nf4",
    bnb_4bit_use_double_quant: opts.doubleQuant,
    bnb_4bit_compute_dtype: opts.computeDtype,
    bnb_4bit_quant_storage: "uint8",
    load_in_4bit: true,
    load_in_8bit: false,
  };
}
