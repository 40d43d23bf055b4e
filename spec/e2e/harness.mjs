// End-to-end harness: a real `simhost serve` on a free loopback port with the real asset DB and
// the repo's web/, and the Debian chromium driven by playwright-core (which never downloads a
// browser). Nothing is mocked. If the host or the browser cannot start, the tests fail — they are
// never skipped.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const REPO = process.env.SIMHOST_SOURCE_DIR || resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const BUILD = process.env.SIMHOST_BUILD_DIR || join(REPO, "build");
export const BIN = process.env.SIMHOST_BIN || join(BUILD, "simhost");
export const DB = process.env.SIMHOST_DB || join(BUILD, "assets.db");
export const WEB = join(REPO, "web");

export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// three.js is served from web/vendor/, filled by `npm ci` (postinstall); refill it if a checkout
// has node_modules but lost the copy.
function ensureVendor() {
  if (existsSync(join(WEB, "vendor", "three.module.js")) && existsSync(join(WEB, "vendor", "OrbitControls.js"))) return;
  const r = spawnSync(process.execPath, [join(WEB, "vendor.mjs")], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`web/vendor is missing and vendor.mjs failed: ${r.stderr}`);
}

export class Host {
  // extraArgs: more `serve` flags (the replay tests pass --recordings DIR).
  static async start(extraArgs = []) {
    for (const [what, p] of [["simhost program", BIN], ["asset DB", DB]]) {
      if (!existsSync(p)) throw new Error(`${what} not found at ${p} (build first; SIMHOST_BIN / SIMHOST_DB override)`);
    }
    ensureVendor();
    const host = new Host();
    host.port = await freePort();
    host.url = `http://127.0.0.1:${host.port}`;
    host.stderr = "";
    // No idle timeout unless a test asks: a page that configures and then waits on a loaded machine
    // (live_view took 196 s at load 10) must not have its connection closed after the default 60 s.
    const idle = extraArgs.includes("--idle-timeout") ? [] : ["--idle-timeout", "0"];
    host.proc = spawn(BIN, ["serve", "--host", "127.0.0.1", "--port", String(host.port), "--assets", DB, "--web", WEB, ...idle, ...extraArgs],
      { stdio: ["ignore", "ignore", "pipe"] });
    host.proc.stderr.on("data", (d) => {
      host.stderr = (host.stderr + d).slice(-8000);
    });
    host.exited = new Promise((r) => host.proc.once("exit", (code, sig) => r({ code, sig })));
    let gone = null;
    host.exited.then((e) => (gone = e));
    const deadline = Date.now() + 20000;
    while (Date.now() < deadline) {
      if (gone) throw new Error(`simhost serve exited (${gone.code ?? gone.sig}) before answering:\n${host.stderr}`);
      try {
        const res = await fetch(`${host.url}/api/v1/health`);
        if (res.ok) return host;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    await host.stop();
    throw new Error(`simhost serve did not answer /api/v1/health within 20 s:\n${host.stderr}`);
  }

  async stop() {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill("SIGTERM");
    const t = setTimeout(() => this.proc.kill("SIGKILL"), 5000);
    await this.exited;
    clearTimeout(t);
  }
}

export async function launchBrowser() {
  const userDataDir = mkdtempSync(join(tmpdir(), "simhost-e2e-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1400, height: 850 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
