/**
 * What `narrator data mine` reads from a local git repository: its name, HEAD, web address and
 * license; blobs and their sizes in one `git cat-file` call each; every commit reachable from
 * HEAD with its raw changes (git walking itself lives in src/util/git.ts).
 */
import * as path from "node:path";
import {
  catFileBatch,
  listCommits,
  readCommitInfo,
  readRawChanges,
  runGit,
  type RawEntry,
} from "../util/git";
import { licenseOfText } from "./license";

/** Run git in a repository being mined: the project's strict runner. */
function git(repo: string, args: string[], input?: string): Buffer {
  return runGit(repo, args, `a git repository with commits at ${repo}`, input);
}

/** Blob contents by id, read in one `git cat-file --batch` call. */
export function readBlobs(repo: string, ids: string[]): Map<string, Buffer> {
  const objects = catFileBatch(repo, ids, `blobs of ${repo}`);
  const out = new Map<string, Buffer>();
  for (const id of new Set(ids)) {
    const object = objects.get(id);
    if (!object) throw new Error(`git cat-file in ${repo}: object ${id} missing`);
    out.set(id, object.data);
  }
  return out;
}

/** Blob sizes by id, from `git cat-file --batch-check`. */
export function blobSizes(repo: string, ids: string[]): Map<string, number> {
  const unique = [...new Set(ids)];
  const out = new Map<string, number>();
  if (unique.length === 0) return out;
  const text = git(
    repo,
    ["cat-file", "--batch-check=%(objectname) %(objectsize)"],
    unique.join("\n") + "\n",
  );
  for (const line of text.toString().split("\n")) {
    const [id, size] = line.split(" ");
    if (id && size !== undefined) out.set(id, Number(size));
  }
  return out;
}

/** Name, HEAD commit, web address and license of a local repository. */
export interface RepoInfo {
  dir: string;
  name: string;
  head: string;
  github: boolean;
  license: string;
}

export function repoInfo(dir: string): RepoInfo {
  const head = git(dir, ["rev-parse", "--verify", "HEAD"]).toString().trim();
  let remote = "";
  try {
    remote = git(dir, ["config", "--get", "remote.origin.url"]).toString().trim();
  } catch {
    // no origin: the repository is named after its folder
  }
  const gh = /github\.com[:/]([\w.-]+\/[\w.-]+?)(\.git)?\/?$/.exec(remote);
  const top = git(dir, ["rev-parse", "--show-toplevel"]).toString().trim();
  const name = gh ? gh[1] : path.basename(top);
  const topLevel = git(dir, ["ls-tree", "--name-only", "HEAD"]).toString().split("\n");
  const licenseFile = topLevel.find((f) => /^(licen[cs]e|copying)([.-][\w.-]+)?$/i.test(f));
  const license = licenseFile
    ? licenseOfText(
        readBlobs(dir, [`HEAD:${licenseFile}`])
          .values()
          .next()
          .value!.toString(),
      )
    : "unknown";
  return { dir, name, head, github: !!gh, license };
}

/** A commit as `git log --raw` reports it. */
export interface LoggedCommit {
  sha: string;
  parents: string[];
  /** "name <email>" */
  author: string;
  message: string;
  changes: RawEntry[];
}

/** Every commit reachable from HEAD, newest first (git log's order). */
export function logCommits(repo: string): LoggedCommit[] {
  const shas = listCommits(repo, ["HEAD", "--"], `a git repository with commits at ${repo}`);
  const changes = readRawChanges(repo, shas);
  return readCommitInfo(repo, shas).map((c, k) => ({
    sha: c.sha,
    parents: c.parents,
    author: `${c.author} <${c.email}>`,
    message: c.message,
    changes: changes[k],
  }));
}

/** A file at HEAD: its path, blob id and size in bytes. */
export interface HeadFile {
  path: string;
  blob: string;
  bytes: number;
}

/** Every file at HEAD (`git ls-tree -r`), submodules and symbolic links left out. */
export function headFiles(repo: string): HeadFile[] {
  const listing = git(repo, ["ls-tree", "-r", "-z", "-l", "HEAD"]).toString().split("\0");
  const files: HeadFile[] = [];
  for (const entry of listing) {
    const m = /^\d+ blob ([0-9a-f]+) +(\d+)\t([\s\S]+)$/.exec(entry);
    if (m) files.push({ path: m[3], blob: m[1], bytes: Number(m[2]) });
  }
  return files;
}
