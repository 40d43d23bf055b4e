// Benchmark (not a test): what one streamed frame costs the live page, SHF1 binary frames and JSON
// frames side by side in one run (issue 18: "the page's cost measured, not its fps"). For each encoding
// the page (`/live?encoding=…`) streams `--bodies` falling cubes from a real host in headless Chromium;
// after a warm-up the page's own counters (web/app.js, `window.simhostStats`, means over its newest 240
// frames) are read `--samples` times, 4 s apart, and the median of those reads is printed:
//   decode   worker ms to read one frame into packed typed arrays (JSON: JSON.parse and packing)
//   take     main-thread ms to take a decoded frame (wrap it, energy plot)
//   apply    main-thread ms to apply one frame to the view (instance matrices, overlays)
//   work     main-thread ms per animation frame: apply + render submission (the software rasteriser's
//            draw is most of it, and it is the same for both encodings); the page's automatic
//            resolution is left on, as a user gets it, and the level it chose is printed (render)
// Encodings alternate round by round so both see the same machine load. Nothing is asserted about speed;
// the run fails only if the page cannot stream (no frames, a page error). With --no-draw the page's
// animation loop is stopped once the run streams (frames are still received, decoded, taken and
// acknowledged; nothing is applied or drawn): what the decode costs without the software rasteriser
// competing for the same two cores.
//
//   make build && node spec/bench/page_cost.mjs [--bodies 1000] [--rounds 2] [--samples 3] [--no-draw]
import { BUILD, Host, launchBrowser } from "../e2e/harness.mjs";

const USAGE = "usage: node spec/bench/page_cost.mjs [--bodies N (1000)] [--rounds R (2)] [--samples S (3)] [--no-draw]";

function parseArgs(argv) {
  const opts = { bodies: 1000, rounds: 2, samples: 3, noDraw: false };
  for (let i = 0; i < argv.length; i++) {
    const key = argv[i].replace(/^--/, "");
    if (argv[i] === "--no-draw") {
      opts.noDraw = true;
      continue;
    }
    if (argv[i] === "--help" || argv[i] === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    // The numeric options only (`--noDraw 5` is not a spelling of --no-draw).
    if (!["bodies", "rounds", "samples"].includes(key) || !argv[i].startsWith("--")) throw new Error(`unknown argument '${argv[i]}'\n${USAGE}`);
    const v = Number(argv[++i]);
    if (!Number.isInteger(v) || v < 1 || v > 10000) throw new Error(`--${key} wants a whole number 1..10000, got '${argv[i]}'`);
    opts[key] = v;
  }
  return opts;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// One encoding, one round: a fresh page load, the cubes added through the page's own controls, a run
// started, then the counters sampled. Returns the medians of the samples.
async function measure(page, url, encoding, { bodies, samples, noDraw }) {
  await page.goto(`${url}/live?encoding=${encoding}`);
  await page.waitForFunction(() => document.querySelectorAll("#asset-options option").length > 0, null, { timeout: 30000 });
  await page.click("#clear-objects"); // the page may bring back the last session's scene
  await page.selectOption("#preset", "");
  await page.fill("#asset", "unit_cube");
  await page.fill("#copies", String(bodies));
  await page.fill("#spacing", "1.5");
  for (const [id, v] of [["pos-x", -7], ["pos-y", -7], ["pos-z", 3]]) await page.fill(`#${id}`, String(v));
  await page.click("#add-object");
  await page.fill("#duration", "1800"); // the bench stops it
  await page.click("#start");
  await page.waitForFunction((n) => window.simhost.lastFrame?.n >= n && window.simhost.framesReceived > 3, bodies, { timeout: 120000 });
  if (await page.evaluate(() => window.simhostStats.encoding) !== encoding) throw new Error(`the page did not stream ${encoding} frames`);
  if (noDraw) await page.evaluate(() => { window.requestAnimationFrame = () => 0; });
  await sleep(6000); // past the first frames (JIT warm-up) and the quality governor's first steps
  const reads = [];
  for (let s = 0; s < samples; s++) {
    const r0 = await page.evaluate(() => window.simhostStats.framesReceived);
    await sleep(4000); // a whole new ring of 240 frames at 60 Hz
    reads.push(await page.evaluate((r0) => {
      const st = window.simhostStats;
      return { decode: st.decodeMs, take: st.receiveMs, apply: st.applyMs, work: window.simhost.workMs(240), frames: st.framesReceived - r0,
        render: document.getElementById("st-render").textContent };
    }, r0));
  }
  await page.evaluate(() => document.querySelector("#stop").disabled || document.querySelector("#stop").click());
  if (reads.some((r) => r.frames === 0)) throw new Error(`${encoding}: no frames arrived while sampling`);
  const pick = (k) => median(reads.map((r) => r[k]));
  return { decode: pick("decode"), take: pick("take"), apply: pick("apply"), work: pick("work"), fps: pick("frames") / 4, render: reads.at(-1).render };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const host = await Host.start();
  const browser = await launchBrowser();
  const errors = [];
  try {
    const page = browser.context.pages()[0] ?? (await browser.context.newPage());
    page.on("pageerror", (e) => errors.push(e.message));
    console.log(`# page cost per frame, ${opts.bodies} bodies, headless Chromium with software GL${opts.noDraw ? ", animation loop stopped (--no-draw)" : ""}; build ${BUILD}`);
    console.log("round encoding   decode ms   take ms   apply ms   work ms/animation frame   frames/s   render");
    const all = { binary: [], json: [] };
    for (let round = 1; round <= opts.rounds; round++) {
      const order = round % 2 ? ["binary", "json"] : ["json", "binary"];
      for (const enc of order) {
        const m = await measure(page, host.url, enc, opts);
        if (errors.length) throw new Error(`page error: ${errors[0]}`);
        all[enc].push(m);
        // Without the animation loop nothing is applied or drawn: those columns would be stale means.
        const apply = opts.noDraw ? "-" : m.apply.toFixed(3), work = opts.noDraw ? "-" : m.work.toFixed(2);
        console.log(`${String(round).padStart(5)} ${enc.padEnd(8)} ${m.decode.toFixed(3).padStart(9)} ${m.take.toFixed(3).padStart(9)} ` +
          `${apply.padStart(10)} ${work.padStart(25)} ${m.fps.toFixed(1).padStart(10)}   ${m.render}`);
      }
    }
    for (const enc of ["binary", "json"]) {
      const ms = all[enc];
      const span = (k, d) => `${Math.min(...ms.map((m) => m[k])).toFixed(d)}–${Math.max(...ms.map((m) => m[k])).toFixed(d)}`;
      console.log(opts.noDraw ? `# ${enc}: decode ${span("decode", 3)} ms, take ${span("take", 3)} ms`
        : `# ${enc}: decode ${span("decode", 3)} ms, take + apply ${span("take", 3)} + ${span("apply", 3)} ms, work ${span("work", 2)} ms`);
    }
  } finally {
    await browser.close();
    await host.stop();
  }
}

main().catch((e) => {
  console.error(`page_cost: ${e.message}`);
  process.exit(1);
});
