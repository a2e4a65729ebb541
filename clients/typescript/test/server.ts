// Starts a real Affinity server for the tests: the binary the test script
// built (AFFINITY_BIN), a temp data dir, 127.0.0.1 and a free port.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// build-test/test/server.js -> the repository root.
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

export interface RunningServer {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Load the demo data set (Online Retail sample) and its config. */
  demo?: boolean;
  /** Listen on this port instead of a free one. */
  port?: number;
  /** AFFINITY_API_KEYS, e.g. "admin:k1,read:k2". */
  apiKeys?: string;
}

/** A port nothing listens on right now (the kernel's pick, then released). */
export function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => ok(port));
    });
  });
}

function binary(): string {
  const bin = process.env.AFFINITY_BIN;
  if (!bin) throw new Error("AFFINITY_BIN is not set: run the tests through scripts/test-ts-client.sh");
  return resolve(bin);
}

export async function startAffinity(opts: StartOptions = {}): Promise<RunningServer> {
  const port = opts.port ?? (await freePort());
  const data = mkdtempSync(join(tmpdir(), "affinity-ts-"));
  const args = ["serve", "--addr", `127.0.0.1:${port}`, "--data", data];
  if (opts.demo) {
    args.push("--demo", join(repoRoot, "testdata/demo/online_retail_sample.csv.gz"));
    args.push("--config", join(repoRoot, "testdata/demo/config.json"));
  }
  const env = { ...process.env, AFFINITY_API_KEYS: opts.apiKeys ?? "" };
  const child = spawn(binary(), args, { env, stdio: ["ignore", "ignore", "pipe"] });
  let log = "";
  child.stderr?.on("data", (b: Buffer) => (log = (log + b.toString()).slice(-4000)));
  const exited = new Promise<number | null>((ok) => child.once("exit", (code) => ok(code)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
    rmSync(data, { recursive: true, force: true });
  };
  try {
    await waitReady(url, child, exited);
  } catch (err) {
    await stop();
    throw new Error(`affinity did not become ready: ${(err as Error).message}\n${log}`);
  }
  return { url, port, stop };
}

// Polls /readyz until 200; bounded, and gives up at once if the process died.
async function waitReady(url: string, child: ChildProcess, exited: Promise<number | null>): Promise<void> {
  let dead = false;
  void exited.then(() => (dead = true));
  // Generous: loading the demo data on a busy 2-core CI machine took over 60 s.
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline) {
    if (dead) throw new Error(`exited with ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/readyz`);
      await res.body?.cancel();
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("timed out after 60 s");
}
