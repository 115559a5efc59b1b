/**
 * A client of the Hugging Face hub (or a mirror at HF_ENDPOINT) for dataset repositories: paged
 * tree listings, and file downloads that are resumable (`.part` files continued with HTTP Range
 * requests), verified (size, and sha256 where the hub publishes one) and renamed into place. The
 * revision is pinned per repository to the commit the hub reports on the first file.
 *
 * The token goes to the hub only, never to the CDN a download is redirected to.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileSizeOrZero, sha256OfFile } from "../util/fs";
import { formatBytes } from "../util/number";

/** One entry of the hub's tree listing. */
export interface TreeEntry {
  type: string;
  oid: string;
  size: number;
  path: string;
  lfs?: { oid: string; size: number };
}

/** Progress of one file download. */
export interface DownloadProgress {
  file: string;
  received: number;
  total?: number;
  bytesPerSecond: number;
  done: boolean;
}

/** Where the hub is and how to ask it. */
export interface HubSettings {
  /** Default: HF_ENDPOINT, else https://huggingface.co. */
  endpoint?: string;
  /** Default: HF_TOKEN. */
  token?: string;
  /** Branch, tag or commit to read (default main). */
  revision?: string;
}

/** Connection settings and the revisions pinned so far, per repository. */
export interface Hub {
  endpoint: string;
  token?: string;
  revision: string;
  pinned: Map<string, string>;
}

/** Headers the hub sends on the resolve hop (before any redirect to a CDN). */
interface ResolveMeta {
  repoCommit?: string;
  linkedEtag?: string;
  linkedSize?: number;
}

/** An interrupted transfer: the `.part` file holds what arrived, and a later try resumes. */
class InterruptedError extends Error {}

function origin(url: string): string {
  return new URL(url).origin;
}

function httpError(status: number, statusText: string, url: string): Error {
  const hint =
    status === 401 || status === 403
      ? ": the repository may be gated or private; set HF_TOKEN to a token that has access"
      : status === 404
        ? ": check the dataset repository, revision and path"
        : "";
  return new Error(`HTTP ${status} ${statusText} for ${url}${hint}`);
}

function unreachable(hub: Hub, url: string, e: unknown): Error {
  const cause = (e as { cause?: { code?: string; message?: string } }).cause;
  const where = url.startsWith(hub.endpoint) ? hub.endpoint : origin(url);
  const detail = cause?.code ?? cause?.message ?? (e as Error).message;
  return new Error(
    `cannot reach ${where}; check the network connection, or set HF_ENDPOINT to a reachable mirror (${detail})`,
  );
}

/** GET with redirects followed by hand, so that the hub's own headers on the first hop are kept. */
async function hubFetch(hub: Hub, url: string, headers: Record<string, string> = {}) {
  const meta: ResolveMeta = {};
  for (let hop = 0; hop < 10; hop++) {
    const h = { ...headers };
    // The token goes to the hub only, never to the CDN it redirects to.
    if (hub.token && origin(url) === origin(hub.endpoint)) h.authorization = `Bearer ${hub.token}`;
    let res: Response;
    try {
      res = await fetch(url, { headers: h, redirect: "manual" });
    } catch (e) {
      throw unreachable(hub, url, e);
    }
    meta.repoCommit ??= res.headers.get("x-repo-commit") ?? undefined;
    meta.linkedEtag ??=
      res.headers.get("x-linked-etag")?.replace(/^W\//, "").replace(/"/g, "") ?? undefined;
    const linkedSize = res.headers.get("x-linked-size");
    if (linkedSize !== null) meta.linkedSize ??= Number(linkedSize);
    const location = res.headers.get("location");
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      url = new URL(location, url).href;
      continue;
    }
    return { res, url, meta };
  }
  throw new Error(`too many redirects from ${url}`);
}

function encodePath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}

/** The next page of a paged listing, from a `Link: <url>; rel="next"` header. */
function nextLink(link: string | null, base: string): string | undefined {
  for (const part of link?.split(",") ?? []) {
    const m = /<([^>]+)>\s*;\s*rel="?next"?/.exec(part);
    if (m) return new URL(m[1], base).href;
  }
  return undefined;
}

/** Every entry under `dir` of a dataset repository, following the listing's pages. */
export async function listTree(hub: Hub, repo: string, dir: string): Promise<TreeEntry[]> {
  let url: string | undefined =
    `${hub.endpoint}/api/datasets/${repo}/tree/${encodeURIComponent(hub.revision)}/${encodePath(dir)}?recursive=true`;
  const entries: TreeEntry[] = [];
  while (url) {
    const { res, url: at } = await hubFetch(hub, url);
    if (!res.ok) throw httpError(res.status, res.statusText, at);
    const page = (await res.json()) as TreeEntry[];
    if (!Array.isArray(page)) throw new Error(`${at}: expected a JSON array of tree entries`);
    entries.push(...page);
    url = nextLink(res.headers.get("link"), at);
  }
  return entries;
}

/** A hub client with nothing pinned yet. */
export function openHub(settings: HubSettings): Hub {
  return {
    endpoint: (settings.endpoint ?? process.env.HF_ENDPOINT ?? "https://huggingface.co").replace(
      /\/+$/,
      "",
    ),
    token: settings.token ?? process.env.HF_TOKEN,
    revision: settings.revision ?? "main",
    pinned: new Map(),
  };
}

/** The commit a repository's downloads were pinned to, or the revision asked for before any. */
export function pinnedRevision(hub: Hub, repo: string): string {
  return hub.pinned.get(repo) ?? hub.revision;
}

// ---------------------------------------------------------------------------------------------
// Resumable file download

/** A progress line: bytes, percentage and speed. */
export function formatProgress(p: DownloadProgress): string {
  const of = p.total
    ? ` / ${formatBytes(p.total)} (${((100 * p.received) / p.total).toFixed(1)}%)`
    : "";
  return `${p.file}: ${formatBytes(p.received)}${of} ${formatBytes(Math.round(p.bytesPerSecond))}/s${p.done ? " done" : ""}`;
}

/**
 * One request for the rest of `part`: continues it with a Range request when it holds a prefix
 * (206), starts over when the server sends the whole file (200). Returns the hub's metadata.
 */
async function fetchIntoPart(
  hub: Hub,
  repo: string,
  file: string,
  part: string,
  expectedSize: number | undefined,
  report: (received: number, total: number | undefined, done: boolean) => void,
): Promise<ResolveMeta> {
  let have = fileSizeOrZero(part);
  if (expectedSize !== undefined && have > expectedSize) have = 0;
  if (expectedSize !== undefined && have === expectedSize && have > 0) return {};
  const revision = pinnedRevision(hub, repo);
  const url = `${hub.endpoint}/datasets/${repo}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;
  const {
    res,
    url: at,
    meta,
  } = await hubFetch(hub, url, have > 0 ? { range: `bytes=${have}-` } : {});
  if (meta.repoCommit && !hub.pinned.has(repo)) hub.pinned.set(repo, meta.repoCommit);
  if (res.status === 206) {
    const start = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "")?.[1];
    if (Number(start) !== have) {
      await res.body?.cancel();
      throw new InterruptedError(
        `${at} answered a Range request from byte ${have} with bytes from ${start}`,
      );
    }
  } else if (res.status === 200) {
    have = 0;
  } else {
    await res.body?.cancel();
    throw httpError(res.status, res.statusText, at);
  }
  const length = res.headers.get("content-length");
  const total =
    expectedSize ?? meta.linkedSize ?? (length !== null ? have + Number(length) : undefined);
  const fd = fs.openSync(part, have > 0 ? "a" : "w");
  try {
    report(have, total, false);
    for await (const chunk of (res.body ?? []) as AsyncIterable<Uint8Array>) {
      fs.writeSync(fd, chunk);
      have += chunk.length;
      report(have, total, false);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).syscall) throw e; // a local file error, not the transfer
    const cause = (e as { cause?: Error }).cause?.message ?? (e as Error).message;
    throw new InterruptedError(
      `download of ${at} was interrupted after ${have} bytes (${cause}); run again to resume`,
    );
  } finally {
    fs.closeSync(fd);
  }
  return meta;
}

/**
 * Download one repository file to `dest`: into `dest.part`, resumed on interruption, verified
 * against the listing's size and sha256 (or the hub's X-Linked-Etag), then renamed into place.
 */
export async function downloadFile(
  hub: Hub,
  repo: string,
  entry: TreeEntry,
  dest: string,
  retries: number,
  onProgress: (p: DownloadProgress) => void,
): Promise<{ sha256: string; size: number }> {
  const part = `${dest}.part`;
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const expectedSize = entry.lfs?.size ?? entry.size;
  const started = Date.now();
  let startBytes = -1;
  let lastReport = 0;
  const label = `${repo}/${entry.path}`;
  const report = (received: number, total: number | undefined, done: boolean) => {
    if (startBytes < 0) startBytes = received;
    const now = Date.now();
    if (!done && now - lastReport < 1000) return;
    lastReport = now;
    const bytesPerSecond = ((received - startBytes) * 1000) / Math.max(1, now - started);
    onProgress({ file: label, received, total, bytesPerSecond, done });
  };
  let restarted = false;
  for (let attempt = 0; ; attempt++) {
    let meta: ResolveMeta;
    const resumedFrom = fileSizeOrZero(part);
    try {
      meta = await fetchIntoPart(hub, repo, entry.path, part, expectedSize, report);
    } catch (e) {
      if (!(e instanceof InterruptedError) || attempt >= retries) throw e;
      await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
      continue;
    }
    const size = fileSizeOrZero(part);
    const wantSize = expectedSize ?? meta.linkedSize;
    const wantSha =
      entry.lfs?.oid ??
      (/^[0-9a-f]{64}$/.test(meta.linkedEtag ?? "") ? meta.linkedEtag : undefined);
    const sha256 = await sha256OfFile(part);
    const problem =
      wantSize !== undefined && size !== wantSize
        ? `size ${size} bytes, expected ${wantSize}`
        : wantSha !== undefined && sha256 !== wantSha
          ? `sha256 mismatch: got ${sha256}, expected ${wantSha}`
          : undefined;
    if (problem) {
      fs.rmSync(part, { force: true });
      // A resumed prefix may come from an older revision: start over once from byte 0.
      if (resumedFrom > 0 && !restarted) {
        restarted = true;
        continue;
      }
      throw new Error(`${label}: ${problem}; the partial download was removed`);
    }
    fs.renameSync(part, dest);
    report(size, size, true);
    return { sha256, size };
  }
}
