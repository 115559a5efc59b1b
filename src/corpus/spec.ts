/**
 * The pinned list of packages the pretraining corpus is built from (src/corpus/packages.json):
 * Debian packages by exact version and .deb sha256, npm packages by exact version and tarball
 * integrity, each with paths to leave out and archives inside it to expand. A list may extend
 * another (`extends`, a file beside it): the narration pairs' list is the pretraining list plus
 * more documented libraries, so the pretraining corpus stays as its models' cards record it.
 */
import * as path from "node:path";
import { z } from "zod";
import { readJson } from "../util/fs";

const pathRules = {
  /** Paths (relative to the package root, "/"-separated) to leave out; see `excluded`. */
  exclude: z.array(z.string().min(1)).default([]),
  /** Used when the package's own license file names none. */
  license: z.string().optional(),
};

const debianPackageSchema = z.object({
  source: z.literal("debian"),
  name: z.string().regex(/^[a-z0-9][a-z0-9.+-]+$/),
  version: z.string().min(1),
  /** sha256 of the .deb, as `apt-cache show` prints it. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Zip archives inside the package (e.g. a JDK's lib/src.zip) whose files join the package's. */
  unzip: z.array(z.string().min(1)).default([]),
  ...pathRules,
});

const npmPackageSchema = z.object({
  source: z.literal("npm"),
  name: z.string().regex(/^(@[a-z0-9._-]+\/)?[a-z0-9._-]+$/),
  version: z.string().regex(/^\d+\.\d+\.\d+/),
  /** Subresource integrity of the tarball, as `npm view <pkg>@<version> dist.integrity` prints it. */
  integrity: z.string().regex(/^sha512-[A-Za-z0-9+/]+=*$/),
  ...pathRules,
});

const packageSchema = z.discriminatedUnion("source", [debianPackageSchema, npmPackageSchema]);

export const corpusSpecSchema = z.object({
  description: z.string().optional(),
  /** Another package list (a path relative to this file) whose packages come first. */
  extends: z.string().min(1).optional(),
  packages: z.array(packageSchema).min(1),
});

export type DebianPackage = z.infer<typeof debianPackageSchema>;
export type NpmPackage = z.infer<typeof npmPackageSchema>;
export type CorpusPackage = z.infer<typeof packageSchema>;
export type CorpusSpec = z.infer<typeof corpusSpecSchema>;

/** The committed package list beside this module. */
export const DEFAULT_SPEC_FILE = path.join(__dirname, "packages.json");

/**
 * Read and validate a package list, with the packages of the lists it extends first; errors name
 * the file and the offending entry and field.
 */
export function loadCorpusSpec(file: string = DEFAULT_SPEC_FILE, seen: string[] = []): CorpusSpec {
  if (seen.includes(path.resolve(file))) {
    throw new Error(`${file}: extends itself through ${seen.join(" -> ")}`);
  }
  const parsed = corpusSpecSchema.safeParse(readJson(file));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new Error(`${file}: ${issue.path.join(".") || "(root)"}: ${issue.message}`);
  }
  const base = parsed.data.extends
    ? loadCorpusSpec(path.resolve(path.dirname(file), parsed.data.extends), [
        ...seen,
        path.resolve(file),
      ]).packages
    : [];
  const packages = [...base, ...parsed.data.packages];
  const listed = new Set<string>();
  for (const p of packages) {
    const key = `${p.source}:${p.name}`;
    if (listed.has(key)) throw new Error(`${file}: package ${key} is listed twice`);
    listed.add(key);
  }
  return { ...parsed.data, packages };
}

/** A package's id in the corpus: `debian:<name>` or `npm:<name>` (versions live in the manifest). */
export function packageId(p: Pick<CorpusPackage, "source" | "name">): string {
  return `${p.source}:${p.name}`;
}

/**
 * Whether a package-relative path is left out by one of the rules: `**\/seg/` matches a folder of
 * that name at any depth, `*.ext` matches a name ending, anything else is a path prefix.
 */
export function excluded(relPath: string, rules: readonly string[]): boolean {
  return rules.some((rule) => {
    if (rule.startsWith("**/")) {
      const seg = rule.slice(3);
      return relPath.startsWith(seg) || relPath.includes("/" + seg);
    }
    if (rule.startsWith("*")) return relPath.endsWith(rule.slice(1));
    return relPath.startsWith(rule);
  });
}
