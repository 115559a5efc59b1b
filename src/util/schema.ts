/** Validation at the boundary: a zod schema, and an error that names the source and each field. */
import type { z } from "zod";

export function parseWithSchema<S extends z.ZodTypeAny>(
  schema: S,
  raw: unknown,
  source: string,
  what: string,
): z.output<S> {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const msg = r.error.issues.map(
      (i: z.ZodIssue) => `${i.path.join(".") || "(root)"}: ${i.message}`,
    );
    throw new Error(`${source}: invalid ${what}: ${msg.join("; ")}`);
  }
  return r.data;
}
