import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { parse, UsageError } from "../../src/cli/args";
import { download, downloadOptions } from "../../src/cli/data_commands";
import {
  downloadDatasets,
  downloadReport,
  type DownloadOptions,
  extractCodeSearchNetZip,
} from "../../src/data/download";
import type { DownloadProgress } from "../../src/data/hub";

// ---------------------------------------------------------------------------------------------
// Hand-made fixtures: a tiny zip writer and hand-written rows.

/** CRC-32 (IEEE, reflected, polynomial 0xEDB88320), bit by bit. */
function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

/** A zip archive: local headers, data, central directory, end record (stored or deflate). */
function makeZip(members: { name: string; data: Buffer; deflate: boolean }[]): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const body = m.deflate ? zlib.deflateRawSync(m.data) : m.data;
    const name = Buffer.from(m.name, "utf8");
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(m.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc32(m.data), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(m.data.length, 22);
    local.writeUInt16LE(name.length, 26);
    const dir = Buffer.alloc(46);
    dir.writeUInt32LE(0x02014b50, 0);
    dir.writeUInt16LE(20, 4);
    dir.writeUInt16LE(20, 6);
    dir.writeUInt16LE(m.deflate ? 8 : 0, 10);
    dir.writeUInt32LE(crc32(m.data), 16);
    dir.writeUInt32LE(body.length, 20);
    dir.writeUInt32LE(m.data.length, 24);
    dir.writeUInt16LE(name.length, 28);
    dir.writeUInt32LE(offset, 42);
    parts.push(local, name, body);
    central.push(dir, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, cd, end]);
}

const row = (name: string, partition: string) =>
  JSON.stringify({ repo: "a/b", func_name: name, partition });
const gz = (text: string) => zlib.gzipSync(Buffer.from(text, "utf8"));

// Members stored out of order; train_2 lacks its final newline.
const PYTHON_ZIP = makeZip([
  { name: "python/", data: Buffer.alloc(0), deflate: false },
  { name: "python/final/jsonl/test/python_test_0.jsonl.gz", data: gz(row("f", "test") + "\n"), deflate: true },
  { name: "python/final/jsonl/train/python_train_10.jsonl.gz", data: gz(row("d", "train") + "\n"), deflate: false },
  { name: "python/final/jsonl/train/python_train_0.jsonl.gz", data: gz(`${row("a", "train")}\n${row("b", "train")}\n`), deflate: true },
  { name: "python/final/jsonl/train/python_train_2.jsonl.gz", data: gz(row("c", "train")), deflate: true },
  { name: "python/final/jsonl/valid/python_valid_0.jsonl.gz", data: gz(row("e", "valid") + "\n"), deflate: false },
  { name: "python/README.md", data: Buffer.from("not data\n"), deflate: true },
]); // prettier-ignore
const PYTHON_ROWS = ["a", "b", "c", "d", "e", "f"].map((n, i) =>
  row(n, ["train", "train", "train", "train", "valid", "test"][i]),
);
const GO_ZIP = makeZip([
  {
    name: "go/final/jsonl/train/go_train_0.jsonl.gz",
    data: gz(row("g", "train") + "\n"),
    deflate: true,
  },
]);
const COMMITS = Buffer.from(
  JSON.stringify({ commit: "1", subject: "Add a thing to the list", lang: "Python" }) + "\n" +
    JSON.stringify({ commit: "2", subject: "Fix the other thing there", lang: "Python" }) + "\n",
); // prettier-ignore

const GO_COMMITS = Buffer.from(
  JSON.stringify({ commit: "3", subject: "Use the new flag parser", lang: "Go" }),
);

const CSN_REPO = "code-search-net/code_search_net";
const CPF_REPO = "bigcode/commitpackft";
const CSN_COMMIT = "c".repeat(40);
const CPF_COMMIT = "f".repeat(40);
const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

// ---------------------------------------------------------------------------------------------
// A fake hub (listing, resolve with redirect) and a fake CDN (Range, cut connections).

interface Hit {
  path: string;
  headers: http.IncomingHttpHeaders;
}

interface HubFile {
  path: string;
  data: Buffer;
  lfs: boolean;
  /** sha256 the hub claims (listing and X-Linked-Etag); default the true one. */
  claimedSha?: string;
  /** Listed, but the resolve answers 404. */
  missing?: boolean;
}

interface Behaviour {
  /** Cut the connection halfway through the first CDN request for this path. */
  cutFirst?: string;
  /** Answer Range requests with the whole file (200). */
  ignoreRange?: boolean;
}

async function listen(handler: http.RequestListener) {
  const server = http.createServer(handler);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  };
  return { url, close };
}

async function startHub(files: Record<string, HubFile[]>, behaviour: Behaviour = {}) {
  const hubHits: Hit[] = [];
  const cdnHits: Hit[] = [];
  const cut = new Set<string>();
  const byBlob = new Map<string, Buffer>();
  const cdn = await listen((req, res) => {
    const url = new URL(req.url!, "http://x");
    cdnHits.push({ path: url.pathname, headers: req.headers });
    const data = byBlob.get(url.pathname);
    if (!data) return void res.writeHead(404).end();
    if (behaviour.cutFirst && url.pathname.endsWith(behaviour.cutFirst) && !cut.has(url.pathname)) {
      cut.add(url.pathname);
      res.writeHead(200, { "content-length": String(data.length) });
      res.write(data.subarray(0, data.length >> 1));
      setTimeout(() => res.socket?.destroy(), 50);
      return;
    }
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    if (range && !behaviour.ignoreRange) {
      const start = Number(range[1]);
      res.writeHead(206, {
        "content-range": `bytes ${start}-${data.length - 1}/${data.length}`,
        "content-length": String(data.length - start),
      });
      return void res.end(data.subarray(start));
    }
    res.writeHead(200, { "content-length": String(data.length) });
    res.end(data);
  });
  const commits: Record<string, string> = { [CSN_REPO]: CSN_COMMIT, [CPF_REPO]: CPF_COMMIT };
  const hub = await listen((req, res) => {
    const url = new URL(req.url!, "http://x");
    hubHits.push({ path: url.pathname + url.search, headers: req.headers });
    for (const [repo, list] of Object.entries(files)) {
      const tree = new RegExp(`^/api/datasets/${repo}/tree/([^/]+)/(.*)$`).exec(url.pathname);
      if (
        tree &&
        url.searchParams.get("recursive") === "true" &&
        ["main", commits[repo]].includes(tree[1])
      ) {
        const under = list.filter((f) => f.path.startsWith(decodeURIComponent(tree[2]) + "/"));
        if (under.length === 0) return void res.writeHead(404).end("not found");
        // One entry per page, so a listing of two files has two pages.
        const page = Number(url.searchParams.get("cursor") ?? 0);
        const f = under[page];
        const headers: Record<string, string> = { "content-type": "application/json" };
        if (page + 1 < under.length)
          headers.link = `<${hubBase}${url.pathname}?recursive=true&cursor=${page + 1}>; rel="next"`;
        const sha = f.claimedSha ?? sha256(f.data);
        const entry = {
          type: "file",
          oid: sha.slice(0, 40),
          size: f.data.length,
          path: f.path,
          ...(f.lfs ? { lfs: { oid: sha, size: f.data.length } } : {}),
        };
        res.writeHead(200, headers);
        return void res.end(JSON.stringify([entry]));
      }
      const resolve = new RegExp(`^/datasets/${repo}/resolve/([^/]+)/(.*)$`).exec(url.pathname);
      const f =
        resolve && list.find((x) => x.path === decodeURIComponent(resolve[2]) && !x.missing);
      if (resolve && f) {
        const blob = `/lfs/${repo}/${f.path}`;
        byBlob.set(blob, f.data);
        if (f.lfs) {
          res.writeHead(302, {
            location: `${cdn.url}${blob}`,
            "x-repo-commit": commits[repo],
            "x-linked-etag": `"${f.claimedSha ?? sha256(f.data)}"`,
            "x-linked-size": String(f.data.length),
          });
          return void res.end();
        }
        res.writeHead(200, {
          "x-repo-commit": commits[repo],
          "content-length": String(f.data.length),
        });
        return void res.end(f.data);
      }
    }
    res.writeHead(404).end("not found");
  });
  const hubBase = hub.url;
  return {
    endpoint: hub.url,
    hubHits,
    cdnHits,
    close: async () => {
      await hub.close();
      await cdn.close();
    },
  };
}

const DEFAULT_FILES = (): Record<string, HubFile[]> => ({
  [CSN_REPO]: [
    { path: "data/go.zip", data: GO_ZIP, lfs: true },
    { path: "data/python.zip", data: PYTHON_ZIP, lfs: true },
  ],
  [CPF_REPO]: [
    { path: "data/python/data.jsonl", data: COMMITS, lfs: false },
    { path: "data/go/data.jsonl", data: GO_COMMITS, lfs: true },
  ],
});

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), "narrator-download-"));
}

function lines(file: string): string[] {
  return zlib.gunzipSync(fs.readFileSync(file)).toString("utf8").split("\n").filter(Boolean);
}

function run(endpoint: string, dataDir: string, extra: Partial<DownloadOptions> = {}) {
  const progress: DownloadProgress[] = [];
  const done = downloadDatasets({
    dataDir,
    endpoint,
    datasets: ["codesearchnet"],
    languages: ["python"],
    token: "",
    onProgress: (p) => progress.push(p),
    ...extra,
  });
  return { done, progress };
}

// ---------------------------------------------------------------------------------------------

test("downloads both datasets: paged listing, redirect to the CDN, pinned revision, manifest", async () => {
  const hub = await startHub(DEFAULT_FILES());
  const dir = tmpDir();
  try {
    const { done, progress } = run(hub.endpoint, dir, {
      datasets: ["codesearchnet", "commitpackft"],
      languages: ["python", "go"],
      token: "secret",
    });
    const result = await done;

    assert.deepEqual(lines(path.join(dir, "codesearchnet/python.jsonl.gz")), PYTHON_ROWS);
    assert.deepEqual(lines(path.join(dir, "codesearchnet/go.jsonl.gz")), [row("g", "train")]);
    const unzip = (f: string) => zlib.gunzipSync(fs.readFileSync(path.join(dir, f))).toString();
    assert.equal(unzip("commitpackft/python.jsonl.gz"), COMMITS.toString());
    assert.equal(unzip("commitpackft/go.jsonl.gz"), GO_COMMITS.toString());

    // The listing of data/ came in two pages; python.zip was on the second.
    const listings = hub.hubHits.filter((h) =>
      h.path.includes(`/api/datasets/${CSN_REPO}/tree/main/data?`),
    );
    assert.deepEqual(
      listings.map((h) => new URL(h.path, "http://x").searchParams.get("cursor")).slice(0, 2),
      [null, "1"],
    );
    // The first resolve asked for main; the next file of the same repository used the pinned commit.
    const resolves = hub.hubHits
      .filter((h) => h.path.startsWith(`/datasets/${CSN_REPO}/resolve/`))
      .map((h) => h.path);
    assert.deepEqual(resolves.slice(0, 2), [
      `/datasets/${CSN_REPO}/resolve/main/data/python.zip`,
      `/datasets/${CSN_REPO}/resolve/${CSN_COMMIT}/data/go.zip`,
    ]);
    // The token goes to the hub, never to the CDN.
    assert.ok(hub.hubHits.every((h) => h.headers.authorization === "Bearer secret"));
    assert.ok(
      hub.cdnHits.length > 0 && hub.cdnHits.every((h) => h.headers.authorization === undefined),
    );
    // Progress ends with a complete report per file.
    const finals = progress.filter((p) => p.done);
    assert.deepEqual(
      finals.map((p) => [p.file, p.received, p.total]),
      [
        [`${CSN_REPO}/data/python.zip`, PYTHON_ZIP.length, PYTHON_ZIP.length],
        [`${CSN_REPO}/data/go.zip`, GO_ZIP.length, GO_ZIP.length],
        [`${CPF_REPO}/data/python/data.jsonl`, COMMITS.length, COMMITS.length],
        [`${CPF_REPO}/data/go/data.jsonl`, GO_COMMITS.length, GO_COMMITS.length],
      ],
    );

    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "DOWNLOAD.json"), "utf8"));
    assert.equal(manifest.endpoint, hub.endpoint);
    const byOutput = Object.fromEntries(
      manifest.files.map((f: { output: string }) => [f.output, f]),
    );
    assert.deepEqual(byOutput["codesearchnet/python.jsonl.gz"], {
      dataset: "codesearchnet",
      language: "python",
      repo: CSN_REPO,
      revision: CSN_COMMIT,
      path: "data/python.zip",
      size: PYTHON_ZIP.length,
      sha256: sha256(PYTHON_ZIP),
      oid: sha256(PYTHON_ZIP).slice(0, 40),
      output: "codesearchnet/python.jsonl.gz",
      outputBytes: fs.statSync(path.join(dir, "codesearchnet/python.jsonl.gz")).size,
      rows: 6,
    });
    assert.deepEqual(
      [
        byOutput["commitpackft/python.jsonl.gz"].revision,
        byOutput["commitpackft/python.jsonl.gz"].sha256,
      ],
      [CPF_COMMIT, sha256(COMMITS)],
    );
    assert.equal(byOutput["commitpackft/python.jsonl.gz"].rows, 2);
    assert.deepEqual(
      result.downloaded.map((f) => f.output),
      [
        "codesearchnet/python.jsonl.gz",
        "codesearchnet/go.jsonl.gz",
        "commitpackft/python.jsonl.gz",
        "commitpackft/go.jsonl.gz",
      ],
    );
    assert.equal(manifest.files.length, 4);
    assert.ok(!fs.existsSync(path.join(dir, ".download")), "staging folder removed");

    // A second run finds everything up to date and resolves nothing.
    const before = hub.hubHits.length;
    const second = await downloadDatasets({
      dataDir: dir,
      endpoint: hub.endpoint,
      datasets: ["codesearchnet", "commitpackft"],
      languages: ["python"],
      onProgress: () => {},
    });
    assert.deepEqual(second.downloaded, []);
    assert.deepEqual(
      second.upToDate.map((f) => f.output),
      ["codesearchnet/python.jsonl.gz", "commitpackft/python.jsonl.gz"],
    );
    assert.ok(hub.hubHits.slice(before).every((h) => h.path.startsWith("/api/")));
  } finally {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("an interrupted download resumes on the next run with a Range request", async () => {
  const hub = await startHub(DEFAULT_FILES(), { cutFirst: "python.zip" });
  const dir = tmpDir();
  try {
    await assert.rejects(
      run(hub.endpoint, dir, { retries: 0 }).done,
      /interrupted after \d+ bytes.*run again to resume/,
    );
    const part = path.join(dir, ".download/codesearchnet/data/python.zip.part");
    const have = fs.statSync(part).size;
    assert.ok(have > 0 && have < PYTHON_ZIP.length, `partial file holds ${have} bytes`);
    assert.ok(!fs.existsSync(path.join(dir, "codesearchnet/python.jsonl.gz")));

    await run(hub.endpoint, dir, { retries: 0 }).done;
    assert.equal(hub.cdnHits.at(-1)!.headers.range, `bytes=${have}-`);
    assert.deepEqual(lines(path.join(dir, "codesearchnet/python.jsonl.gz")), PYTHON_ROWS);
    assert.ok(!fs.existsSync(part));
  } finally {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("an interruption is resumed within the same run when retries are allowed", async () => {
  const hub = await startHub(DEFAULT_FILES(), { cutFirst: "python.zip" });
  const dir = tmpDir();
  try {
    await run(hub.endpoint, dir, { retries: 1 }).done;
    assert.equal(hub.cdnHits.length, 2);
    assert.match(hub.cdnHits[1].headers.range ?? "", /^bytes=\d+-$/);
    assert.deepEqual(lines(path.join(dir, "codesearchnet/python.jsonl.gz")), PYTHON_ROWS);
  } finally {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a server that ignores Range (200) makes the download start over", async () => {
  const hub = await startHub(DEFAULT_FILES(), { ignoreRange: true });
  const dir = tmpDir();
  try {
    const part = path.join(dir, ".download/codesearchnet/data/python.zip.part");
    fs.mkdirSync(path.dirname(part), { recursive: true });
    fs.writeFileSync(part, "stale bytes");
    await run(hub.endpoint, dir).done;
    // One request: the 200 answer replaced the stale prefix, no second try was needed.
    assert.deepEqual(
      hub.cdnHits.map((h) => h.headers.range),
      ["bytes=11-"],
    );
    assert.deepEqual(lines(path.join(dir, "codesearchnet/python.jsonl.gz")), PYTHON_ROWS);
  } finally {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a resumed prefix that fails the sha256 check is downloaded again from byte 0", async () => {
  const hub = await startHub(DEFAULT_FILES());
  const dir = tmpDir();
  try {
    const part = path.join(dir, ".download/codesearchnet/data/python.zip.part");
    fs.mkdirSync(path.dirname(part), { recursive: true });
    fs.writeFileSync(part, Buffer.alloc(10, 0x41)); // not the file's first 10 bytes
    await run(hub.endpoint, dir).done;
    assert.deepEqual(
      hub.cdnHits.map((h) => h.headers.range),
      ["bytes=10-", undefined],
    );
    assert.deepEqual(lines(path.join(dir, "codesearchnet/python.jsonl.gz")), PYTHON_ROWS);
  } finally {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a sha256 mismatch is rejected and leaves no file behind", async () => {
  const files = DEFAULT_FILES();
  files[CSN_REPO][1].claimedSha = "0".repeat(64);
  const hub = await startHub(files);
  const dir = tmpDir();
  try {
    await assert.rejects(run(hub.endpoint, dir).done, (e: Error) => {
      assert.match(
        e.message,
        /data\/python\.zip: sha256 mismatch: got [0-9a-f]{64}, expected 0{64}/,
      );
      return true;
    });
    assert.ok(!fs.existsSync(path.join(dir, "codesearchnet/python.jsonl.gz")));
    assert.ok(!fs.existsSync(path.join(dir, ".download/codesearchnet/data/python.zip.part")));
    assert.ok(!fs.existsSync(path.join(dir, ".download/codesearchnet/data/python.zip")));
  } finally {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a missing revision or file gives an HTTP 404 error naming the URL", async () => {
  const files = DEFAULT_FILES();
  files[CSN_REPO][1].missing = true;
  const hub = await startHub(files);
  const dir = tmpDir();
  try {
    const base = hub.endpoint.replace(/[.]/g, "\\.");
    await assert.rejects(
      run(hub.endpoint, dir, { revision: "no-such-branch" }).done,
      new RegExp(
        `^Error: HTTP 404 Not Found for ${base}/api/datasets/${CSN_REPO}/tree/no-such-branch/data\\?recursive=true: check the dataset repository, revision and path$`,
      ),
    );
    await assert.rejects(
      run(hub.endpoint, dir).done,
      new RegExp(
        `^Error: HTTP 404 Not Found for ${base}/datasets/${CSN_REPO}/resolve/main/data/python\\.zip: check the dataset repository, revision and path$`,
      ),
    );
  } finally {
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("an unreachable endpoint says so", async () => {
  const closed = await listen(() => {});
  await closed.close();
  const dir = tmpDir();
  try {
    await assert.rejects(run(closed.url, dir).done, (e: Error) => {
      assert.ok(e.message.startsWith(`cannot reach ${closed.url}; `), e.message);
      assert.match(e.message, /ECONNREFUSED/);
      return true;
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** `narrator data download` argv, parsed as the command line parses it. */
function downloadArgs(argv: string[]) {
  return downloadOptions(parse(download, argv).values);
}

test("data download parses its arguments and reports each file", async () => {
  const hub = await startHub(DEFAULT_FILES());
  const dir = tmpDir();
  const write = process.stderr.write;
  const stderr: string[] = [];
  process.stderr.write = ((chunk: string) => (
    stderr.push(String(chunk)),
    true
  )) as typeof process.stderr.write;
  try {
    const out = await downloadReport(
      downloadArgs([
        "--data-dir",
        dir,
        `--endpoint=${hub.endpoint}`,
        "--datasets",
        "commitpackft",
        "--languages=python",
      ]),
    );
    assert.deepEqual(out, [
      `commitpackft/python.jsonl.gz: downloaded, 2 rows, ${fs.statSync(path.join(dir, "commitpackft/python.jsonl.gz")).size} B (${CPF_REPO}@${CPF_COMMIT.slice(0, 12)} data/python/data.jsonl)`,
      `manifest: ${path.join(dir, "DOWNLOAD.json")}`,
    ]);
    const last = stderr.at(-1)!;
    assert.match(
      last,
      new RegExp(
        `^${CPF_REPO}/data/python/data.jsonl: ${COMMITS.length} B / ${COMMITS.length} B \\(100\\.0%\\) .*/s done\\n$`,
      ),
    );
    assert.throws(() => downloadArgs(["--datasets", "nope"]), /unknown dataset "nope"/);
    assert.throws(() => downloadArgs(["--languages", "cobol"]), /unknown language "cobol"/);
  } finally {
    process.stderr.write = write;
    await hub.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("a CodeSearchNet zip is read whole, and corrupt members and non-zip files are refused", async () => {
  const dir = tmpDir();
  const file = path.join(dir, "python.zip");
  const out = path.join(dir, "python.jsonl.gz");
  const extract = () => extractCodeSearchNetZip(file, "python", out);
  try {
    fs.writeFileSync(file, PYTHON_ZIP);
    assert.deepEqual(await extract(), { rows: 6, bytes: fs.statSync(out).size });
    assert.deepEqual(lines(out), PYTHON_ROWS);

    // One member: its directory entry starts after the data (30 + name + body bytes).
    const data = gz(row("x", "train") + "\n");
    const name = "python/final/jsonl/train/python_train_0.jsonl.gz";
    const good = makeZip([{ name, data, deflate: true }]);
    const entry = good.length - 22 - 46 - name.length;
    const crc = good.readUInt32LE(entry + 16);
    const bad = Buffer.from(good);
    bad.writeUInt32LE((crc ^ 1) >>> 0, entry + 16);
    fs.writeFileSync(file, bad);
    await assert.rejects(extract(), {
      message: `${file}: ${name} is corrupt (its CRC-32 does not match the directory)`,
    });
    // A directory that claims one byte more than the member inflates to.
    const long = Buffer.from(good);
    long.writeUInt32LE(data.length + 1, entry + 24);
    fs.writeFileSync(file, long);
    await assert.rejects(extract(), (e: Error) => e.message.startsWith(`${file}: ${name}: `));

    fs.writeFileSync(file, "just text, not a zip archive at all");
    await assert.rejects(extract(), (e: Error) =>
      e.message.startsWith(`${file}: not a readable zip file (`),
    );
    const other = makeZip([
      { name: "go/final/jsonl/train/go_train_0.jsonl.gz", data, deflate: false },
    ]);
    fs.writeFileSync(file, other);
    await assert.rejects(
      extract(),
      /no python\/final\/jsonl\/<split>\/python_<split>_<n>\.jsonl\.gz members/,
    );
    assert.ok(!fs.readdirSync(dir).some((f) => f.includes(".tmp-")), "no temporary file left");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("data download options: --flag=value and --flag value alike; unknown flags, bad values and stray arguments are named", () => {
  const a = downloadArgs([
    "--data=/tmp/d",
    "--datasets=commitpackft",
    "--retries=0",
    "--languages=Go,go",
  ]);
  const b = downloadArgs([
    "--data",
    "/tmp/d",
    "--datasets",
    "commitpackft",
    "--retries",
    "0",
    "--languages",
    "Go,go",
  ]);
  assert.deepEqual(a, b);
  assert.deepEqual(
    [a.dataDir, a.datasets, a.languages, a.retries],
    ["/tmp/d", ["commitpackft"], ["go"], 0],
  );
  assert.equal(downloadArgs(["--out", "/tmp/o"]).dataDir, "/tmp/o");
  assert.deepEqual(downloadArgs([]).datasets, ["codesearchnet", "commitpackft"]);
  const usage = (re: RegExp) => (e: unknown) => e instanceof UsageError && re.test(e.message);
  assert.throws(() => downloadArgs(["--dtaa", "/tmp/d"]), usage(/Unknown option '--dtaa'/));
  assert.throws(
    () => downloadArgs(["--retries=-1"]),
    usage(/^--retries expects a whole number >= 0, got '-1'/),
  );
  for (const value of ["0x10", "1e3"]) {
    assert.throws(
      () => downloadArgs([`--retries=${value}`]),
      usage(new RegExp(`^--retries expects a whole number >= 0, got '${value}'`)),
    );
  }
  assert.throws(() => downloadArgs(["--retries", "two"]), usage(/--retries .*got 'two'/));
  assert.throws(
    () => downloadArgs(["python"]),
    usage(/^unexpected argument 'python': options only/),
  );
  assert.throws(
    () => downloadArgs(["--datasets=nope"]),
    usage(/^--datasets: unknown dataset "nope"/),
  );
});
