// Benchmark (not a test): what reading one live frame costs in the page's socket worker, and why it costs
// more there than the same code in node. A resting layer of `--bodies` cubes (one collision of four
// contact points per cube) is stepped through the real `simhost` Lua module and written once as SHF1
// bytes and once as JSON text (w:frame_bin / w:frame_json); then, in a dedicated worker of headless
// Chromium and in node alike, each row below runs on fresh copies of that message (as the socket hands
// each message over in new memory), 20 per timing so the worker's 0.1 ms clock resolution does not round
// them away. Printed per row: p10 / median / mean ms per frame over `--batches` batches.
//   decode SHF1     web/frames.js packBinary: the message to the packed frame the page holds (what the
//                   page reports as its worker decode, decodeMs)
//   decode JSON     web/frames.js decode of the JSON frame: JSON.parse, then packFrame
//   history keep    web/history.js compact: the float32 copy the worker keeps for the timeline
//   copy message    one copy of the SHF1 message (ArrayBuffer.slice): the floor for a reader that hands
//                   the message's own bytes over and keeps a copy for the history
//   touch warm      the decode's output arrays copied (TypedArray.set) into arrays allocated once and
//                   reused: the same bytes written, into memory that is not new
// With --before COMMIT the page's reader as of that commit (its web/frames.js and web/history.js, read
// with git) is measured in the same run, before the current one, on the same frame.
// Nothing is asserted about speed.
//
//   make build && node spec/bench/worker_decode.mjs [--bodies 1000] [--batches 100] [--before COMMIT]
import { spawnSync } from "node:child_process";
import { createServer } from "node:http";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILD, DB, REPO, WEB, launchBrowser } from "../e2e/harness.mjs";

const USAGE = "usage: node spec/bench/worker_decode.mjs [--bodies N (1000)] [--batches B (100)] [--before COMMIT]";
const READER = ["frames.js", "history.js"]; // the page's reader: what each measured version brings
const BATCH = 20;

function parseArgs(argv) {
  const opts = { bodies: 1000, batches: 100, before: null };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--help" || argv[i] === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    const key = argv[i].replace(/^--/, "");
    if (argv[i] === "--before") {
      opts.before = argv[++i];
      if (!opts.before) throw new Error(`--before wants a commit\n${USAGE}`);
      continue;
    }
    if (!argv[i].startsWith("--") || !(key in opts)) throw new Error(`unknown argument '${argv[i]}'\n${USAGE}`);
    const v = Number(argv[++i]);
    if (!Number.isInteger(v) || v < 1 || v > 10000) throw new Error(`--${key} wants a whole number 1..10000, got '${argv[i]}'`);
    opts[key] = v;
  }
  return opts;
}

// The frame, from the real module: cubes on a square grid 1.5 m apart, resting on the ground after 60 steps.
function hostFrame(bodies) {
  const lua = `
    local simhost = require "simhost"
    local n = tonumber((...))
    local w = simhost.world { assets = simhost.assets.open(${JSON.stringify(DB)}) }
    w:spawn { asset = "ground", position = { 0, 0, -0.5 }, orientation = { 0, 0, 0 }, environment = true }
    local side = math.ceil(math.sqrt(n))
    for i = 0, n - 1 do
      w:spawn { asset = "unit_cube", position = { (i % side) * 1.5, (i // side) * 1.5, 0.51 }, orientation = { 0, 0, 0 } }
    end
    for _ = 1, 60 do w:step(1 / 60) end
    io.stdout:write(w:metadata_json(), "\\n", w:frame_json(60, { simulation_time = 1 }), "\\n", w:frame_bin(60, { simulation_time = 1 }))`;
  const r = spawnSync("lua5.4", ["-", String(bodies)], {
    input: lua, maxBuffer: 1 << 28, env: { ...process.env, LUA_CPATH: `${join(BUILD, "lua")}/?.so;;` },
  });
  if (r.status !== 0) throw new Error(`lua5.4 failed (build first: make build): ${r.stderr}`);
  const out = r.stdout, a = out.indexOf(10), b = out.indexOf(10, a + 1);
  const bin = out.subarray(b + 1);
  return { meta: out.subarray(0, a).toString(), json: out.subarray(a + 1, b).toString(), bin: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.length) };
}

// Runs in the worker and in node: the rows above on one frame. `m` = { packBinary, decode, BodyTable, compact }.
function measure(m, meta, json, bin, batches, batch) {
  const bodies = new m.BodyTable();
  bodies.setMetadata(JSON.parse(meta));
  const text = `{"type":"frame","data":${json}}`;
  const first = m.packBinary(bin.slice(0), bodies);
  if (first.error) throw new Error(first.error);
  const p = first.packed;
  const warm = Object.fromEntries(Object.entries(p).filter(([, v]) => ArrayBuffer.isView(v)).map(([k, v]) => [k, new v.constructor(v.length)]));
  const rows = {
    "decode SHF1": (bufs) => bufs.map((b) => m.packBinary(b, bodies)),
    "decode JSON": () => Array.from({ length: batch }, () => m.decode(text)),
    "history keep": (bufs, packed) => packed.map((q) => m.compact(q)),
    "copy message": (bufs) => bufs.map((b) => b.slice(0)),
    "touch warm": () => {
      for (let r = 0; r < batch; r++) for (const [k, v] of Object.entries(warm)) v.set(p[k]);
    },
  };
  const out = { bytes: bin.byteLength, points: p.colStart[p.ncol], n: p.n };
  for (const [name, fn] of Object.entries(rows)) {
    const t = [];
    for (let i = 0; i < batches + 5; i++) {
      const bufs = Array.from({ length: batch }, () => bin.slice(0));
      const packed = name === "history keep" ? bufs.map((b) => m.packBinary(b, bodies).packed) : null;
      const t0 = performance.now();
      fn(bufs, packed);
      if (i >= 5) t.push((performance.now() - t0) / batch); // the first 5 batches warm the JIT
    }
    t.sort((x, y) => x - y);
    out[name] = [t[Math.floor(t.length / 10)], t[t.length >> 1], t.reduce((x, y) => x + y) / t.length];
  }
  return out;
}

// The reader's files of each measured version: { name, files: { "frames.js": text, ... } }.
function readers(before) {
  const now = { name: "now", files: Object.fromEntries(READER.map((f) => [f, readFileSync(join(WEB, f), "utf8")])) };
  if (!before) return [now];
  const files = {};
  for (const f of READER) {
    const r = spawnSync("git", ["-C", REPO, "show", `${before}:web/${f}`], { encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`--before ${before}: git show web/${f}: ${r.stderr.trim()}`);
    files[f] = r.stdout;
  }
  return [{ name: `before (${before})`, files }, now];
}

const WORKER = (dir, src) => `
import { packBinary, decode, BodyTable } from "/${dir}/frames.js";
import { compact } from "/${dir}/history.js";
const measure = ${src};
self.onmessage = async ({ data: d }) => {
  try {
    const [meta, json, bin] = await Promise.all([fetch("/meta.json").then((r) => r.text()), fetch("/frame.json").then((r) => r.text()),
      fetch("/frame.bin").then((r) => r.arrayBuffer())]);
    self.postMessage(measure({ packBinary, decode, BodyTable, compact }, meta, json, bin, d.batches, d.batch));
  } catch (e) {
    self.postMessage({ error: String(e) });
  }
};`;

// Reader k's files under /r<k>/, with its worker; the frame once.
function serve(frame, versions) {
  const files = { "/index.html": ["<!doctype html><title>worker decode</title>", "text/html"] };
  versions.forEach((v, k) => {
    files[`/r${k}/bench-worker.js`] = [WORKER(`r${k}`, measure.toString()), "text/javascript"];
    for (const f of READER) files[`/r${k}/${f}`] = [v.files[f], "text/javascript"];
  });
  files["/meta.json"] = [frame.meta, "application/json"];
  files["/frame.json"] = [frame.json, "application/json"];
  files["/frame.bin"] = [Buffer.from(frame.bin), "application/octet-stream"];
  return new Promise((ok) => {
    const srv = createServer((req, res) => {
      const f = files[req.url];
      res.writeHead(f ? 200 : 404, { "content-type": f?.[1] ?? "text/plain" });
      res.end(f?.[0] ?? "");
    }).listen(0, "127.0.0.1", () => ok({ url: `http://127.0.0.1:${srv.address().port}`, close: () => srv.close() }));
  });
}

// A version's modules for node: its files in a directory of their own, imported.
async function importVersion(v, dir) {
  for (const f of READER) writeFileSync(join(dir, f), v.files[f]);
  writeFileSync(join(dir, "package.json"), '{ "type": "module" }');
  const web = await import(join(dir, "frames.js"));
  const { compact } = await import(join(dir, "history.js"));
  return { ...web, compact };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const versions = readers(opts.before);
  const frame = hostFrame(opts.bodies);
  const srv = await serve(frame, versions);
  const tmp = mkdtempSync(join(tmpdir(), "simhost-reader-"));
  const browser = await launchBrowser();
  try {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    await page.goto(`${srv.url}/index.html`);
    const f = (r) => r.map((x) => x.toFixed(3)).join(" / ");
    const w = Math.max(...versions.map((v) => v.name.length));
    let k = 0;
    for (const v of versions) {
      const inWorker = await page.evaluate((d) => new Promise((ok) => {
        const w = new Worker(`/r${d.k}/bench-worker.js`, { type: "module" });
        w.onmessage = (e) => { w.terminate(); ok(e.data); };
        w.onerror = (e) => { w.terminate(); ok({ error: e.message || "the worker did not start" }); };
        w.postMessage(d);
      }), { k, batches: opts.batches, batch: BATCH });
      if (inWorker.error) throw new Error(`${v.name}, worker: ${inWorker.error}`);
      const dir = join(tmp, `r${k++}`);
      mkdirSync(dir);
      const inNode = measure(await importVersion(v, dir), frame.meta, frame.json, frame.bin, opts.batches, BATCH);
      if (k === 1) {
        console.log(`# one frame: ${inWorker.n} bodies, ${inWorker.points} contact points, SHF1 ${inWorker.bytes} bytes, JSON ${frame.json.length} bytes; ` +
          `ms per frame, p10 / median / mean of ${opts.batches} batches of ${BATCH}`);
        console.log(`${"reader".padEnd(w)} row             Chromium worker            node`);
      }
      for (const row of ["decode SHF1", "decode JSON", "history keep", "copy message", "touch warm"]) {
        console.log(`${v.name.padEnd(w)} ${row.padEnd(15)} ${f(inWorker[row]).padEnd(26)} ${f(inNode[row])}`);
      }
    }
  } finally {
    await browser.close();
    srv.close();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(`worker_decode: ${e.message}`);
  process.exit(1);
});
