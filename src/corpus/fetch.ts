/**
 * Fetching the pinned packages into a cache folder and unpacking them: Debian packages with
 * `apt-get download` + `dpkg-deb -x`, npm packages with `npm pack` + `tar`. Every archive is checked
 * against the pinned sha256 / integrity before use, and unpacked trees are reused when present.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import type { CorpusPackage, DebianPackage, NpmPackage } from "./spec";

/** An unpacked package: its root folder and the license its own files declare. */
export interface FetchedPackage {
  root: string;
  license: string;
  /** Where the license came from: the Debian copyright file, package.json, or the package list. */
  licenseSource: "copyright" | "package.json" | "spec" | "none";
}

function run(cmd: string, args: string[], cwd: string): string {
  try {
    return execFileSync(cmd, args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(" ")} failed: ${(err.stderr || err.message).trim()}`);
  }
}

function fileDigest(file: string, algorithm: "sha256" | "sha512", encoding: "hex" | "base64") {
  return createHash(algorithm).update(fs.readFileSync(file)).digest(encoding);
}

function safeName(name: string): string {
  return name.replace(/^@/, "").replace(/\//g, "__");
}

/** Fetch (unless cached) and verify one archive; `download` leaves exactly one new file in the folder it is given. */
function cachedArchive(
  file: string,
  matches: (f: string) => boolean,
  download: (dir: string) => void,
  what: string,
): void {
  if (fs.existsSync(file) && matches(file)) return;
  const tmp = fs.mkdtempSync(path.join(path.dirname(file), ".download-"));
  try {
    download(tmp);
    const got = fs.readdirSync(tmp);
    if (got.length !== 1)
      throw new Error(`${what}: expected one downloaded file, got ${got.length}`);
    const downloaded = path.join(tmp, got[0]);
    if (!matches(downloaded)) {
      throw new Error(
        `${what}: the downloaded archive does not match the pinned checksum in the package list ` +
          `(the registry now serves different bytes for this version: re-pin it deliberately)`,
      );
    }
    fs.renameSync(downloaded, file);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Unpack once: `unpack` fills a fresh folder, which is renamed into place only when it succeeds. */
function unpackOnce(dir: string, unpack: (into: string) => void): void {
  if (fs.existsSync(dir)) return;
  const tmp = `${dir}.partial`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  unpack(tmp);
  fs.renameSync(tmp, dir);
}

/** The license of a machine-readable (DEP-5) Debian copyright file: that of its `Files: *` paragraph, or null. */
export function debianMainLicense(copyright: string): string | null {
  for (const para of copyright.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n/)) {
    if (!/^Files:[ \t]*\*[ \t]*$/m.test(para)) continue;
    const m = /^License:[ \t]*(\S.*)$/m.exec(para);
    return m ? m[1].trim() : null;
  }
  return null;
}

/** The license an npm package.json declares (`license`, or the old `licenses` list), or null. */
export function npmLicense(pkg: Record<string, unknown>): string | null {
  const one = (l: unknown): string | null =>
    typeof l === "string"
      ? l
      : l && typeof l === "object"
        ? String((l as { type?: unknown }).type ?? "") || null
        : null;
  if (pkg.license !== undefined) return one(pkg.license);
  if (Array.isArray(pkg.licenses)) {
    const all = pkg.licenses.map(one).filter((l): l is string => l !== null);
    return all.length ? all.join(" OR ") : null;
  }
  return null;
}

function fetchDebian(p: DebianPackage, cacheDir: string): FetchedPackage {
  const dir = path.join(cacheDir, "debian");
  fs.mkdirSync(dir, { recursive: true });
  const base = `${p.name}_${p.version.replace(/[:~+]/g, "_")}`;
  const deb = path.join(dir, `${base}.deb`);
  cachedArchive(
    deb,
    (f) => fileDigest(f, "sha256", "hex") === p.sha256,
    (tmp) => {
      try {
        run("apt-get", ["download", `${p.name}=${p.version}`], tmp);
      } catch (e) {
        throw new Error(
          `${(e as Error).message}\n(run 'apt-get update' once; if the archive no longer serves this version, ` +
            `pin the current one from 'apt-cache policy ${p.name}' and its sha256 from 'apt-cache show')`,
        );
      }
    },
    `debian ${p.name}=${p.version}`,
  );
  const root = path.join(dir, base);
  unpackOnce(root, (into) => {
    run("dpkg-deb", ["-x", deb, into], into);
    for (const zip of p.unzip) {
      const file = path.join(into, zip);
      if (!fs.existsSync(file))
        throw new Error(`debian ${p.name}: archive to expand not found: ${zip}`);
      run("unzip", ["-q", "-o", file, "-d", `${file}.d`], into);
    }
  });
  const copyright = path.join(root, "usr", "share", "doc", p.name, "copyright");
  const main = fs.existsSync(copyright)
    ? debianMainLicense(fs.readFileSync(copyright, "utf8"))
    : null;
  if (main) return { root, license: main, licenseSource: "copyright" };
  return p.license
    ? { root, license: p.license, licenseSource: "spec" }
    : { root, license: "unknown", licenseSource: "none" };
}

function fetchNpm(p: NpmPackage, cacheDir: string): FetchedPackage {
  const dir = path.join(cacheDir, "npm");
  fs.mkdirSync(dir, { recursive: true });
  const base = `${safeName(p.name)}-${p.version}`;
  const tgz = path.join(dir, `${base}.tgz`);
  cachedArchive(
    tgz,
    (f) => `sha512-${fileDigest(f, "sha512", "base64")}` === p.integrity,
    (tmp) =>
      run("npm", ["pack", `${p.name}@${p.version}`, "--pack-destination", tmp, "--silent"], tmp),
    `npm ${p.name}@${p.version}`,
  );
  const unpacked = path.join(dir, base);
  unpackOnce(unpacked, (into) => run("tar", ["-xzf", tgz, "-C", into, "--no-same-owner"], into));
  // npm tarballs hold one top folder, usually "package/".
  const tops = fs.readdirSync(unpacked);
  if (tops.length !== 1)
    throw new Error(
      `npm ${p.name}@${p.version}: expected one top folder in the tarball, got ${tops.join(", ")}`,
    );
  const root = path.join(unpacked, tops[0]);
  const pkgJson = path.join(root, "package.json");
  const declared = fs.existsSync(pkgJson)
    ? npmLicense(JSON.parse(fs.readFileSync(pkgJson, "utf8")) as Record<string, unknown>)
    : null;
  if (declared) return { root, license: declared, licenseSource: "package.json" };
  return p.license
    ? { root, license: p.license, licenseSource: "spec" }
    : { root, license: "unknown", licenseSource: "none" };
}

/** Fetch, verify and unpack one pinned package into `cacheDir` (no network when already cached). */
export function fetchPackage(p: CorpusPackage, cacheDir: string): FetchedPackage {
  return p.source === "debian" ? fetchDebian(p, cacheDir) : fetchNpm(p, cacheDir);
}

/** Every regular file under a folder (symlinks are not followed), as sorted "/"-separated relative paths. */
export function listFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path.join(dir, entry.name), r);
      else if (entry.isFile()) out.push(r);
    }
  };
  walk(root, "");
  return out.sort();
}
