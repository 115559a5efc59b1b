/**
 * The shape of a batch of token sequences as training consumes it: what the data layer produces
 * (examples collated, corpus windows cut) and the training step reads.
 */

/** The label of a position that does not count towards the loss (prompt tokens, padding), as HF. */
export const IGNORE_INDEX = -100;

export interface TokenBatch {
  /** [B, T] input ids, row-major. */
  ids: Int32Array;
  /** [B*T] next-token labels, -100 where the loss does not count. */
  labels: Int32Array;
  /** [B, T] 1 real / 0 padding, when the batch is padded. */
  attentionMask?: Float32Array;
  batch: number;
  seqLen: number;
  /**
   * Per-position weights [B*T] summing to 1 over counted positions (MFTCoder's per-task
   * weighting); the loss is then sum(nll * weights). Token mean over the batch when absent.
   */
  weights?: Float32Array;
}

/** Positions that count towards the loss. */
export function countedTokens(labels: Int32Array): number {
  let n = 0;
  for (const l of labels) if (l !== IGNORE_INDEX) n++;
  return n;
}

/** Sequence tokens of a batch (prompt and target, no padding). */
export function sequenceTokens(b: TokenBatch): number {
  if (!b.attentionMask) return b.batch * b.seqLen;
  let n = 0;
  for (let i = 0; i < b.attentionMask.length; i++) n += b.attentionMask[i];
  return n;
}
