// The timeline and the "why it moves" views, end to end: a real host, the real page in headless
// chromium, real frames. Every wait has a deadline; nothing is timed against the wall clock.
// Run: node --test spec/e2e/replay_view.test.mjs   (ctest: e2e.replay_view)

import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { BIN, BUILD, DB, Host, launchBrowser } from "./harness.mjs";

let host, browser, page, recDir, recId;
const pageErrors = [];

const until = (fn, arg, timeout = 20000) => page.waitForFunction(fn, arg, { timeout });
const evalPage = (fn, arg) => page.evaluate(fn, arg);

async function fill(id, value) {
  await page.fill(`#${id}`, String(value));
}

// Clicks Stop when a run is going, checked and clicked in one page task: a run that ends between a
// separate isEnabled() and click() left the click waiting 30 s on the disabled button (seen on a loaded
// machine). Returns whether it clicked.
const stopIfRunning = (p) => p.evaluate(() => {
  const b = document.querySelector("#stop");
  if (b.disabled) return false;
  b.click();
  return true;
});

// One cube on the ground's top face, pushed along +x so it slides and then rests.
async function slidingCube({ vx = 4, duration = 20, speed = 1, friction = 0.5, record = false } = {}) {
  if (await stopIfRunning(page)) {
    await until(() => ["stopped", "complete", "error", "closed"].includes(window.simhost.state));
  }
  await page.click("#clear-objects");
  await page.selectOption("#preset", "");
  await fill("asset", "unit_cube");
  for (const [k, v] of [["pos-x", 0], ["pos-y", 0], ["pos-z", 0.5], ["vel-x", vx], ["vel-y", 0], ["vel-z", 0], ["mass", 10], ["restitution", 0], ["friction", friction], ["copies", 1]]) await fill(k, v);
  await page.click("#add-object");
  await page.selectOption("#timestep", "16");
  await fill("duration", duration);
  await fill("speed", speed);
  await page.setChecked("#record", record);
  await page.click("#start");
  await until(() => window.simhost.state === "running");
  return evalPage(() => window.simhost.metadata.bodies.find((b) => !b.is_environment).body_id);
}

// Where the view draws a body and where the frame on screen puts it.
const drawnAndFrame = (id) => evalPage((i) => {
  const s = window.simhost;
  const f = s.shownFrame;
  return { id: f.frame_id, drawn: s.view.drawnPosition(i), frame: f.stateOf(i).position, applied: s.appliedFrame === f, head: s.lastFrame.frame_id };
}, id);

// The view applies the frame on screen at its next animation frame.
const untilApplied = () => until(() => window.simhost.appliedFrame === window.simhost.shownFrame && !window.simhost.timeline.busy, null, 10000);

// The inspector's contact rows once they show what `want` expects: the text panels refresh at 10 Hz
// (app.js PANEL_INTERVAL_MS), so right after a seek they may still hold the previous frame's rows.
// Gives up after 10 s (as untilApplied) and returns the rows as they are, for the caller's assertions to report.
async function inspectorRows(want) {
  const read = () => page.$$eval("#insp-contact-list tbody tr", (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  for (let i = 0; i < 100; i++) {
    const rows = await read();
    if (want(rows)) return rows;
    await page.waitForTimeout(100);
  }
  return read();
}

function assertDrawnAtFrame(r) {
  for (const k of ["x", "y", "z"]) assert.ok(Math.abs(r.drawn[k] - r.frame[k]) < 1e-6, `drawn ${k} ${r.drawn[k]} vs frame ${r.frame[k]} (frame ${r.id})`);
}

before(async () => {
  // A recordings directory of our own: one real recording of the ramp scenario (boxes sliding or
  // staying on a slope), made by `simhost run --record`, and a file that is not a recording.
  recDir = mkdtempSync(join(tmpdir(), "simhost-rec-"));
  const made = spawnSync(BIN, ["run", "ramp", "--duration", "2", "--record", "--recordings", recDir, "--assets", DB], { encoding: "utf8", timeout: 120000 });
  assert.equal(made.status, 0, `simhost run --record: ${made.stderr}`);
  writeFileSync(join(recDir, "broken.db"), "this is not an SQLite file\n");
  // 1000 bodies for the scrubbing benchmark (printed, not asserted).
  const big = spawnSync(BIN, ["run", "avalanche", "--param", "count=1000", "--duration", "2", "--record", join(recDir, "avalanche1000.db"), "--assets", DB], { encoding: "utf8", timeout: 300000 });
  assert.equal(big.status, 0, `simhost run avalanche --record: ${big.stderr}`);
  host = await Host.start(["--recordings", recDir]);
  browser = await launchBrowser();
  page = browser.context.pages()[0] ?? (await browser.context.newPage());
  page.on("pageerror", (e) => pageErrors.push(e.message));
  const res = await page.goto(`${host.url}/live`);
  assert.equal(res.status(), 200);
  await until(() => window.simhost && document.querySelectorAll("#asset-options option").length > 0, null, 15000);
});

after(async () => {
  await browser?.close();
  await host?.stop();
  if (recDir) rmSync(recDir, { recursive: true, force: true });
});

describe("timeline and why-it-moves", { timeout: 600000 }, () => {
  let cube;

  it("pauses the view of a live run and scrubs back while the host goes on; the drawn body is where that frame puts it", async () => {
    cube = await slidingCube({ duration: 120 });
    await until(() => (window.simhost.lastFrame?.frame_id ?? 0) >= 90);
    assert.equal(await page.getAttribute("#timeline", "data-mode"), "live");
    await page.keyboard.press("Space");
    await until(() => document.querySelector("#timeline").dataset.mode === "review", null, 5000);
    const pausedAt = await evalPage(() => window.simhost.shownFrame.frame_id);
    // The host goes on: new frames arrive while the view holds.
    await until((f) => window.simhost.lastFrame.frame_id > f + 10, pausedAt);
    assert.equal(await evalPage(() => window.simhost.shownFrame.frame_id), pausedAt, "the paused view holds its frame");
    assert.equal(await evalPage(() => window.simhost.state), "running", "the run itself is not paused");

    // Drag the slider to about a third of the history.
    const box = await page.locator("#tl-slider").boundingBox();
    const y = box.y + box.height / 2;
    await page.mouse.move(box.x + box.width * 0.9, y);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.6, y, { steps: 4 });
    await page.mouse.move(box.x + box.width * 0.33, y, { steps: 4 });
    await page.mouse.up();
    await until((f) => window.simhost.shownFrame.frame_id < f - 20, pausedAt, 10000);
    await untilApplied();
    const r = await drawnAndFrame(cube);
    assert.ok(r.applied, "the view applied the frame on screen");
    assertDrawnAtFrame(r);
    assert.ok(r.id < r.head - 20, `scrubbed frame ${r.id} is behind the head ${r.head}`);
    assert.equal(await page.textContent("#tl-frame"), String(r.id));
    const t = await evalPage(() => window.simhost.shownFrame.simulation_time);
    assert.equal(await page.textContent("#tl-time"), t.toFixed(3));
    // Where the cube was still sliding at that frame, it is drawn behind where the head has it.
    const { headX, vx } = await evalPage((i) => ({ headX: window.simhost.lastFrame.stateOf(i).position.x, vx: window.simhost.shownFrame.stateOf(i).velocity.x }), cube);
    if (vx > 0.05) assert.ok(r.frame.x < headX, `x at frame ${r.id} (${r.frame.x}) behind the head's (${headX})`);
  });

  it("steps back and forward one frame (keys and buttons)", async () => {
    const before = await evalPage(() => window.simhost.shownFrame.frame_id);
    const dropped = await evalPage(() => Number(document.querySelector("#st-dropped").textContent));
    await page.keyboard.press("ArrowLeft");
    await until((f) => window.simhost.shownFrame.frame_id < f, before, 5000);
    const back = await evalPage(() => window.simhost.shownFrame.frame_id);
    if (dropped === 0) assert.equal(back, before - 1, "one frame back");
    await page.click("#tl-back");
    await until((f) => window.simhost.shownFrame.frame_id < f, back, 5000);
    const back2 = await evalPage(() => window.simhost.shownFrame.frame_id);
    await page.click("#tl-fwd");
    await until((f) => window.simhost.shownFrame.frame_id > f, back2, 5000);
    assert.equal(await evalPage(() => window.simhost.shownFrame.frame_id), back);
    await untilApplied();
    assertDrawnAtFrame(await drawnAndFrame(cube));
  });

  it("plots follow the cursor, and a click on a plot seeks there", async () => {
    await evalPage((i) => window.simhost.select(i), cube);
    await page.selectOption("#plot-kind", "velocity");
    await until(() => window.simhost.plotSeries.n > 50, null, 10000);
    const t = await evalPage(() => window.simhost.shownFrame.simulation_time);
    await until((tt) => window.simhost.plot.cursor === tt, t, 5000);
    // Click at 40 % of the plot's time axis.
    const target = await evalPage(() => {
      const { plot } = window.simhost;
      const g = plot.geom;
      const x = g.left + 0.4 * g.width;
      return { x, t: plot.timeAt(x) };
    });
    const pb = await page.locator("#plot").boundingBox();
    await page.locator("#plot").click({ position: { x: target.x, y: pb.height / 2 } });
    // The run goes on, so the plot's time axis may have grown since `target`: the page says what
    // time the click asked for; the frame shown is the one nearest it (frames are 16 ms apart).
    await until(() => Number.isFinite(window.simhost.plot.lastSeek), null, 5000);
    const asked = await evalPage(() => window.simhost.plot.lastSeek);
    assert.ok(Math.abs(asked - target.t) < 2, `the click asked for ${asked} s, near ${target.t} s`);
    await until((tt) => Math.abs(window.simhost.shownFrame.simulation_time - tt) <= 0.0081, asked, 5000);
    await until(() => window.simhost.plot.cursor === window.simhost.shownFrame.simulation_time, null, 5000);
    await untilApplied();
    assertDrawnAtFrame(await drawnAndFrame(cube));
    // The velocity plot's series is the cube's own: the value at the cursor is its |v| there.
    const check = await evalPage((i) => {
      const s = window.simhost;
      const series = s.plotSeries;
      const k = series.nearest(s.shownFrame.simulation_time);
      const v = s.shownFrame.stateOf(i).velocity;
      return { plotted: series.values.speed[k], speed: Math.hypot(v.x, v.y, v.z), dt: Math.abs(series.t[k] - s.shownFrame.simulation_time) };
    }, cube);
    if (check.dt < 1e-9) assert.ok(Math.abs(check.plotted - check.speed) < 1e-4, `plotted |v| ${check.plotted} vs frame ${check.speed}`);
    const { csv, n } = await evalPage(() => ({ csv: window.simhost.plotCSV(), n: window.simhost.plotSeries.n }));
    const lines = csv.trim().split("\n");
    assert.equal(lines[0], "simulation_time_s,speed_m_s,vx_m_s,vy_m_s,vz_m_s,spin_rad_s,wx_rad_s,wy_rad_s,wz_rad_s");
    assert.equal(lines.length - 1, n);
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 5000 }), page.click("#plot-csv")]);
    assert.match(download.suggestedFilename(), /^simhost-velocity-body\d+\.csv$/);
    await page.selectOption("#plot-kind", "energy");
    const energy = await evalPage(() => window.simhost.plotCSV().split("\n")[0]);
    assert.equal(energy, "simulation_time_s,linear_J,rotational_J,potential_J,total_J,kinetic_J");
  });

  it("draws normal and friction arrows for the sliding box, and the inspector lists each contact", async () => {
    await page.selectOption("#plot-kind", "energy");
    await page.check("#ov-forces");
    await page.check("#ov-gravity");
    // 0.15 s in, the cube slides at about 3 m/s.
    await evalPage(() => window.simhost.timeline.seekTime(0.15));
    await until(() => Math.abs(window.simhost.shownFrame.simulation_time - 0.15) < 0.01, null, 5000);
    await untilApplied();
    const arrows = await evalPage(() => ({ ...window.simhost.view.arrowCounts }));
    assert.ok(arrows.normal >= 3, `normal arrows ${arrows.normal}`);
    assert.ok(arrows.friction >= 3, `friction arrows ${arrows.friction}`);
    assert.equal(arrows.gravity, 1);
    assert.match(await page.textContent("#force-legend"), /1 m = 100 N/);
    const rows = await inspectorRows((r) => r.length >= 3 && r.every((c) => c[4].startsWith("sliding")));
    assert.ok(rows.length >= 3, `contact rows ${rows.length}`);
    for (const r of rows) {
      assert.match(r[4], /^sliding \d+\.\d\d m\/s$/, `a point of a sliding box: ${r}`);
      // Friction on the cube points against its motion (+x).
      const dir = r[2].match(/\(([-\d.]+), ([-\d.]+), ([-\d.]+)\)/);
      assert.ok(dir && Number(dir[1]) < 0, `friction direction ${r[2]}`);
    }
    // After it stopped, the same box sticks (or has no friction left to show).
    await evalPage(() => window.simhost.timeline.seek({ last: true }));
    await until(() => window.simhost.shownFrame.simulation_time > 2, null, 5000);
    await untilApplied();
    const later = (await inspectorRows((r) => r.every((c) => c[4] === "sticking"))).map((c) => c[4]);
    assert.ok(later.every((s) => s === "sticking"), `resting contacts ${later}`);
  });

  it("plays the history at 2×, rejoins the run at its head, and loops a finished run", async () => {
    await evalPage(() => window.simhost.timeline.seekTime(0.5));
    await until(() => Math.abs(window.simhost.shownFrame.simulation_time - 0.5) < 0.01, null, 5000);
    await evalPage(() => document.activeElement?.blur()); // keys go to the timeline, not a focused field
    await page.keyboard.press("+"); // 1× → 2×
    assert.equal(await page.inputValue("#tl-speed"), "2");
    assert.equal(await evalPage(() => window.simhost.timeline.speed), 2);
    const from = await evalPage(() => window.simhost.shownFrame.frame_id);
    await page.keyboard.press("Space");
    await until((f) => window.simhost.shownFrame && window.simhost.shownFrame.frame_id > f + 20, from, 20000);
    await untilApplied().catch(() => {}); // it keeps moving; only the play state matters here
    // Playing on reaches the head and follows the run again (no loop).
    await until(() => window.simhost.timeline.following, null, 60000);
    assert.equal(await page.getAttribute("#timeline", "data-mode"), "live");

    // Stop the run: its history stays. Loop the last stretch.
    await stopIfRunning(page);
    await until(() => ["stopped", "complete"].includes(window.simhost.state));
    await page.keyboard.press("End");
    await page.keyboard.press("Space"); // pause the view at the head
    await until(() => !window.simhost.timeline.following, null, 5000);
    await page.check("#tl-loop");
    await evalPage(() => window.simhost.timeline.seek({ last: true }));
    for (let i = 0; i < 5; i++) await page.keyboard.press("ArrowLeft");
    await until(() => !window.simhost.timeline.busy, null, 5000);
    await page.keyboard.press("Space");
    await until(() => window.simhost.shownFrame.frame_id < 60, null, 20000); // wrapped to the start
    await page.keyboard.press("Space");
    await until(() => !window.simhost.timeline.playing, null, 5000);
    await untilApplied();
    assertDrawnAtFrame(await drawnAndFrame(cube));
    await page.keyboard.press("Home");
    await until(() => window.simhost.shownFrame.frame_id === 0, null, 5000);
    await page.uncheck("#tl-loop");
  });

  it("saves the view as a PNG and prints the page's main-thread cost per frame", async () => {
    const url = await evalPage(() => window.simhost.screenshot());
    assert.match(url, /^data:image\/png;base64,/);
    assert.ok(url.length > 5000, `PNG data URL of ${url.length} characters`);
    const [download] = await Promise.all([page.waitForEvent("download", { timeout: 5000 }), page.click("#screenshot")]);
    assert.match(download.suggestedFilename(), /^simhost-frame\d+\.png$/);
    // Scrub the whole history once, frame by frame through the slider, and read the cost.
    const n = await evalPage(() => window.simhost.source.range().count);
    const cost = await evalPage(async (count) => {
      const s = window.simhost;
      const samples = [];
      for (let k = 0; k < 60; k++) {
        s.timeline.scrubTo(k / 59);
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        samples.push(s.workMs(1));
      }
      return { mean: samples.reduce((a, b) => a + b, 0) / samples.length, max: Math.max(...samples), count };
    }, n);
    console.log(`# scrubbing a ${n}-frame history: main-thread ms per drawn frame mean ${cost.mean.toFixed(2)}, max ${cost.max.toFixed(2)}`);
    assert.deepEqual(pageErrors, []);
  });
});

const api = async (path) => {
  const res = await fetch(`${host.url}/api/v1/simulations${path}`);
  assert.equal(res.status, 200, `GET ${path}`);
  return res.json();
};

// Every dynamic body is drawn where the recording's own frame (read by the test from the replay
// API, not through the page) puts it.
const assertDrawnAsRecorded = (frameId) => assertDrawnAsRecordedOf(recId, frameId);
async function assertDrawnAsRecordedOf(id, frameId) {
  const want = await api(`/${id}/frames/${frameId}/state`);
  const drawn = await evalPage((ids) => ids.map((i) => window.simhost.view.drawnPosition(i)), want.states.map((s) => s.body_id));
  want.states.forEach((s, k) => {
    for (const c of ["x", "y", "z"]) assert.ok(Math.abs(drawn[k][c] - s.position[c]) < 1e-5, `body ${s.body_id} ${c}: drawn ${drawn[k][c]}, recorded ${s.position[c]} (frame ${frameId})`);
  });
}

describe("recordings", { timeout: 600000 }, () => {
  it("lists the recordings at /, newest first, and says which cannot be read", async () => {
    const res = await page.goto(`${host.url}/`);
    assert.equal(res.status(), 200);
    await until(() => document.querySelectorAll("#lib-list li").length >= 2, null, 15000);
    assert.equal(await page.getAttribute("#library", "open"), "", "the list is open at /");
    const list = await api("");
    const ramp = list.find((r) => r.scenario === "ramp");
    recId = ramp.id;
    const items = await page.$$eval("#lib-list li", (lis) => lis.map((li) => ({ id: li.dataset.id, text: li.textContent, cls: li.className })));
    assert.deepEqual(items.map((i) => i.id), list.map((r) => r.id), "the page lists what the host lists, in its order");
    const r = items.find((i) => i.id === recId);
    assert.match(r.text, /ramp/);
    assert.match(r.text, new RegExp(`${ramp.body_count} bodies · ${(ramp.total_frames * ramp.timestep).toFixed(1)} s · ${ramp.total_frames} frames · complete`));
    const bad = items.find((i) => i.id === "broken");
    assert.match(bad.text, /cannot be read/);
    assert.match(bad.cls, /unreadable/);
  });

  it("opens a recording: scrubbing draws every body where the recording's frame puts it", async () => {
    await page.click(`#lib-list li[data-id="${recId}"]`);
    await until((id) => window.simhost.source?.kind === "recording" && window.simhost.source.id === id && window.simhost.shownFrame?.frame_id === 0, recId, 15000);
    await untilApplied();
    await assertDrawnAsRecorded(0);
    assert.equal(await page.textContent("#st-state"), "replay");
    const total = (await api(`/${recId}/metadata`)).total_frames;
    assert.match(await page.textContent("#tl-span"), new RegExp(`^${total} frames`));
    await page.locator("#tl-slider").fill("500"); // the middle of the slider
    await until(() => window.simhost.shownFrame.frame_id > 50, null, 10000);
    await untilApplied();
    const mid = await evalPage(() => window.simhost.shownFrame.frame_id);
    assert.ok(Math.abs(mid - (total - 1) / 2) <= 1, `the middle of ${total} frames: ${mid}`);
    await assertDrawnAsRecorded(mid);
    assert.equal(await evalPage(() => window.simhost.source.frames.where), "worker", "frames.bin ranges are read in the recording's worker");
  });

  it("reads a recording on the main thread when its worker cannot load", async () => {
    await page.route("**/recording-worker.js", (route) => route.fulfill({ status: 404, body: "" }));
    try {
      await evalPage((id) => window.simhost.openRecording(id), recId);
      await until(() => window.simhost.source?.frames?.where === "main thread" && window.simhost.shownFrame?.frame_id === 0, null, 15000);
      await evalPage(() => window.simhost.timeline.seek({ id: 30 }));
      await until(() => window.simhost.shownFrame.frame_id === 30, null, 10000);
      await untilApplied();
      await assertDrawnAsRecorded(30);
    } finally {
      await page.unroute("**/recording-worker.js");
    }
    // Reopened as a user would: in a worker again, at the middle.
    await evalPage((id) => window.simhost.openRecording(id), recId);
    await until(() => window.simhost.source?.frames?.where === "worker" && window.simhost.shownFrame?.frame_id === 0, null, 15000);
    await evalPage(() => window.simhost.timeline.seek({ id: 62 }));
    await until(() => window.simhost.shownFrame.frame_id === 62, null, 10000);
    await untilApplied();
  });

  it("steps back, plays at 2× to the end, loops, and the plots follow", async () => {
    const mid = await evalPage(() => window.simhost.shownFrame.frame_id);
    await evalPage(() => document.activeElement?.blur());
    await page.keyboard.press("ArrowLeft");
    await until((f) => window.simhost.shownFrame.frame_id === f - 1, mid, 10000);
    await untilApplied();
    await assertDrawnAsRecorded(mid - 1);
    // The energy plot holds the recording's stored series; its cursor is the frame on screen.
    await page.selectOption("#plot-kind", "energy");
    const energy = await api(`/${recId}/energy`);
    await until((n) => window.simhost.plotSeries.n === n, energy.length, 10000);
    await until(() => window.simhost.plot.cursor === window.simhost.shownFrame.simulation_time, null, 5000);
    const at = await evalPage(() => { const s = window.simhost; const k = s.plotSeries.nearest(s.shownFrame.simulation_time); return { total: s.plotSeries.values.total[k], id: s.shownFrame.frame_id }; });
    assert.ok(Math.abs(at.total - energy[at.id].total_system_e) < 1e-9 * Math.max(1, Math.abs(at.total)), "the plot's total at the cursor is the recording's");
    await evalPage(() => document.activeElement?.blur());
    await page.selectOption("#tl-speed", "2");
    await page.click("#tl-play");
    await until(() => window.simhost.timeline.playing, null, 5000);
    await until((f) => window.simhost.shownFrame.frame_id > f + 10, mid, 20000);
    // No loop: it stops at the last frame (the stop asks for it; the answer comes from the worker).
    await until(() => !window.simhost.timeline.playing && !window.simhost.timeline.busy, null, 60000);
    const total = (await api(`/${recId}/metadata`)).total_frames;
    assert.equal(await evalPage(() => window.simhost.shownFrame.frame_id), total - 1);
    await page.check("#tl-loop");
    await page.keyboard.press("End");
    for (let i = 0; i < 3; i++) await page.keyboard.press("ArrowLeft");
    await until(() => !window.simhost.timeline.busy, null, 5000);
    await page.keyboard.press("Space");
    await until(() => window.simhost.timeline.playing && window.simhost.shownFrame.frame_id < 30, null, 30000); // wrapped
    await page.keyboard.press("Space");
    await until(() => !window.simhost.timeline.playing, null, 5000);
    await untilApplied();
    await assertDrawnAsRecorded(await evalPage(() => window.simhost.shownFrame.frame_id));
    await page.uncheck("#tl-loop");
  });

  it("takes the README's picture: the ramp recording, its fastest box selected, forces and its velocity on the cursor", async () => {
    // Lane 1 has the least friction (0.1 on a 30° incline): its box slides fastest.
    const box = (await api(`/${recId}/metadata`)).bodies.find((b) => !b.is_environment).body_id;
    await evalPage((i) => window.simhost.select(i), box);
    await page.check("#ov-forces");
    await page.check("#ov-gravity");
    await page.selectOption("#plot-kind", "velocity");
    await until(() => window.simhost.plotSeries.n > 50, null, 10000);
    await evalPage(() => window.simhost.timeline.seekTime(1.2));
    await until(() => Math.abs(window.simhost.shownFrame.simulation_time - 1.2) < 0.02 && !window.simhost.timeline.busy, null, 10000);
    await page.uncheck("#auto-quality"); // the picture at full resolution
    await evalPage(() => window.simhost.view.resetCamera());
    await untilApplied();
    await evalPage(() => {
      document.getElementById("left").scrollTo(0, 0);
      document.getElementById("right").scrollTo(0, 1e6); // the contact rows and the whole plot
    });
    assert.equal(await page.isVisible("#tl-live"), false, "a recording has no live head to go back to");
    await until(() => window.simhost.plot.cursor === window.simhost.shownFrame.simulation_time, null, 5000);
    await inspectorRows((r) => r.length > 0 && r.every((c) => c[4].startsWith("sliding")));
    // Into the build tree by default; `make screenshot` points it at docs/replay-view.png.
    const shot = process.env.SIMHOST_REPLAY_SCREENSHOT || join(BUILD, "replay-view.png");
    mkdirSync(dirname(shot), { recursive: true });
    await page.screenshot({ path: shot });
    await page.check("#auto-quality");
  });

  it("resumes a live run from the recorded frame on screen: the first live frame is that frame", async () => {
    await evalPage(() => window.simhost.timeline.seek({ id: 60 }));
    await until(() => window.simhost.shownFrame.frame_id === 60 && !window.simhost.timeline.busy, null, 10000);
    assert.equal(await page.isVisible("#tl-resume"), true);
    await page.fill("#duration", "1");
    await page.fill("#speed", "1");
    await page.click("#tl-resume");
    await until(() => ["running", "complete"].includes(window.simhost.state), null, 60000);
    const sent = await evalPage(() => window.simhost.sent.filter((m) => m.type === "configure").at(-1));
    assert.deepEqual(sent.resume, { recording: recId, frame: 60 });
    assert.equal(await evalPage(() => window.simhost.source.kind), "live");
    await until(() => window.simhost.source.range().count > 0, null, 20000);
    const first = await evalPage(async () => {
      const f = await window.simhost.source.get({ first: true });
      return { id: f.frame_id, states: f.states.map((s) => ({ id: s.body_id, p: s.position })) };
    });
    assert.equal(first.id, 60, "the live run's first frame is the recorded frame it resumed from");
    const want = await api(`/${recId}/frames/60/state`);
    for (const s of want.states) {
      const got = first.states.find((x) => x.id === s.body_id);
      for (const c of ["x", "y", "z"]) assert.ok(Math.abs(got.p[c] - s.position[c]) < 1e-5, `body ${s.body_id} ${c}: live ${got.p[c]}, recorded ${s.position[c]}`);
    }
    await until(() => window.simhost.lastFrame && window.simhost.lastFrame.frame_id > 61, null, 30000);
  });

  it("resumes from the history of a recorded live run: the first live frame is the recorded frame, and the run goes on as it did", async () => {
    const cube = await slidingCube({ duration: 2, record: true });
    // The host names the recording in `complete`; the run's history outlives it.
    await until(() => window.simhost.state === "complete", null, 60000);
    await evalPage(() => window.simhost.timeline.seek({ id: 40 }));
    await until(() => window.simhost.shownFrame?.frame_id >= 40 && !window.simhost.timeline.busy, null, 10000);
    await until(() => !document.querySelector("#tl-resume").hidden, null, 10000);
    // The frame on screen and the five after it, as the live run streamed them (binary float32).
    const poses = (from) => evalPage(async (f0) => {
      const out = [];
      for (let k = 0; k < 6; k++) {
        const f = await window.simhost.source.get({ id: f0 + k });
        if (f && f.frame_id === f0 + k) out.push({ id: f.frame_id, states: f.states.map((st) => ({ id: st.body_id, p: st.position, q: st.orientation })) });
      }
      return out;
    }, from);
    const at = await evalPage(() => window.simhost.shownFrame.frame_id);
    const before = await poses(at);
    assert.equal(before[0].id, at);
    const runs = await evalPage(() => window.simhost.runs);
    await page.click("#tl-resume");
    await until((r) => window.simhost.runs === r + 1 && ["running", "complete"].includes(window.simhost.state), runs, 60000);
    const sent = await evalPage(() => window.simhost.sent.filter((m) => m.type === "configure").at(-1));
    const recording = sent.resume?.recording;
    assert.deepEqual(sent.resume, { recording, frame: at }, "configure asks to resume the live run's recording at the frame on screen");
    assert.ok((await api("")).some((r) => r.id === recording), `the host lists the live run's recording ${recording}`);
    await until(() => window.simhost.source.kind === "live" && window.simhost.source.range().count >= 6, null, 30000);
    const after = await poses(at);
    assert.equal(after[0]?.id, at, "the resumed run's first frame is the frame it resumed from");
    // The recording's own frame (read by the test from the replay API), as float32 like the wire.
    const want = await api(`/${recording}/frames/${at}/state`);
    const f32 = Math.fround;
    for (const s of want.states) {
      const got = after[0].states.find((x) => x.id === s.body_id);
      for (const c of ["x", "y", "z"]) assert.equal(got.p[c], f32(s.position[c]), `body ${s.body_id} ${c} at frame ${at}: live ${got.p[c]}, recorded ${s.position[c]}`);
    }
    // Deterministic: the frames after it are the ones the recorded run streamed, bit for bit.
    let compared = 0;
    for (const b of before) {
      const a = after.find((x) => x.id === b.id);
      if (!a) continue;
      assert.deepEqual(a.states, b.states, `frame ${b.id}: the resumed run against the recorded run`);
      compared++;
    }
    assert.ok(compared >= 2, `compared ${compared} frames`);
    assert.ok(after.at(-1).states.find((x) => x.id === cube).p.x > after[0].states.find((x) => x.id === cube).p.x, "the cube slides on");
  });

  it("scrubs a 1000-body recording end to end, frame by frame (prints the main-thread ms per frame)", async () => {
    // The page's default overlays (contacts on, arrows off) whatever the tests before left.
    await page.uncheck("#ov-forces");
    await page.uncheck("#ov-gravity");
    await page.check("#ov-contacts");
    await evalPage(() => window.simhost.openRecording("avalanche1000"));
    // Generous deadlines: 1000 bodies through software GL on a loaded machine draw slowly.
    await until(() => window.simhost.source?.id === "avalanche1000" && window.simhost.shownFrame?.frame_id === 0, null, 180000);
    await untilApplied();
    const n = await evalPage(() => window.simhost.source.range().count);
    // The renderer's main-thread time as Chromium counts it (every task: scripts, layout, the
    // panels, parsing), beside the page's own measure of each frame.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Performance.enable");
    const busy = async () => {
      const m = (await cdp.send("Performance.getMetrics")).metrics;
      const ms = (name) => m.find((x) => x.name === name).value * 1000;
      return { task: ms("TaskDuration"), script: ms("ScriptDuration") };
    };
    // And the main thread's CPU time (thread time, which a loaded machine does not stretch as it
    // does the wall clock), from a DevTools trace of the scrub: every task on the renderer's main
    // thread, and the animation-frame callbacks (the page's apply and draw) among them.
    const trace = [];
    cdp.on("Tracing.dataCollected", ({ value }) => trace.push(...value));
    const traced = new Promise((r) => cdp.once("Tracing.tracingComplete", r));
    await cdp.send("Tracing.start", { categories: "toplevel,devtools.timeline,disabled-by-default-devtools.timeline", transferMode: "ReportEvents" });
    const busy0 = await busy();
    const cost = await evalPage(async () => {
      const s = window.simhost;
      const ms = [], rx = [];
      // Where the page's time goes: applying the frame (overlays included), the CPU batch, the GL submission.
      const parts = { apply: 0, overlays: 0, sync: 0, gl: 0 };
      const wrap = (obj, name, key) => {
        const f = obj[name].bind(obj);
        obj[name] = (...a) => { const t = performance.now(); const r = f(...a); parts[key] += performance.now() - t; return r; };
      };
      wrap(s.view, "applyFrame", "apply");
      wrap(s.view, "updateOverlays", "overlays");
      for (const b of s.view.batches) wrap(b, "sync", "sync");
      wrap(s.view.renderer, "render", "gl");
      const t0 = performance.now();
      const deadline = Date.now() + 240000;
      for (;;) {
        const before = s.shownFrame.frame_id;
        s.timeline.step(1);
        while ((s.timeline.busy || s.appliedFrame !== s.shownFrame) && Date.now() < deadline) await new Promise((r) => requestAnimationFrame(r));
        if (s.shownFrame.frame_id === before || Date.now() > deadline) break;
        rx.push(s.timeline.receiveMs); // taking the frame from the worker
        ms.push(s.workMs(1) + s.timeline.receiveMs); // + the animation frame that applied it: the frame, the CPU batch, the draw
      }
      const sorted = [...ms].sort((a, b) => a - b);
      return {
        frames: ms.length + 1, mean: ms.reduce((a, b) => a + b, 0) / ms.length, p95: sorted[Math.floor(ms.length * 0.95)], max: sorted.at(-1),
        receive: rx.reduce((a, b) => a + b, 0) / rx.length, parts: Object.fromEntries(Object.entries(parts).map(([k, v]) => [k, +(v / ms.length).toFixed(3)])), q: s.quality, wall: performance.now() - t0, bodies: s.shownFrame.n,
      };
    });
    const busy1 = await busy();
    await cdp.send("Tracing.end");
    let timer;
    await Promise.race([traced, new Promise((_, no) => (timer = setTimeout(() => no(new Error("the trace did not end within 60 s")), 60000)))]);
    clearTimeout(timer);
    const main = trace.find((e) => e.name === "thread_name" && e.args?.name === "CrRendererMain" && trace.some((x) => x.pid === e.pid && x.name === "FireAnimationFrame"));
    const cpu = (name) => trace.filter((e) => e.pid === main?.pid && e.tid === main?.tid && e.name === name && e.ph === "X").reduce((a, e) => a + (e.tdur ?? 0), 0) / 1000 / (cost.frames - 1);
    const tasks = cpu("RunTask"), raf = cpu("FireAnimationFrame");
    const per = (k) => ((busy1[k] - busy0[k]) / (cost.frames - 1)).toFixed(2);
    await cdp.detach();
    const p = cost.parts;
    console.log(`# scrubbing a ${cost.bodies}-body recording end to end (${cost.frames} of ${n} frames, one step each, drawn at ${cost.q.scale * 100} %${cost.q.shadows ? "" : " without shadows"}): ` +
      `the page's main-thread ms per frame mean ${cost.mean.toFixed(2)}, p95 ${cost.p95.toFixed(2)}, max ${cost.max.toFixed(2)} = taking it ${cost.receive.toFixed(2)} + applying it ${p.apply} ` +
      `(overlays ${p.overlays}) + CPU batch ${p.sync} + GL submission ${p.gl}; Chromium's main thread per frame: scripts ${per("script")} ms, all tasks ${per("task")} ms ` +
      `(the software rasteriser's waits included); main-thread CPU time per frame ${tasks.toFixed(2)} ms, animation frames ${raf.toFixed(2)} ms; wall ${(cost.wall / (cost.frames - 1)).toFixed(1)} ms per frame`);
    assert.equal(cost.frames, n, "every frame was shown");
    await assertDrawnAsRecordedOf("avalanche1000", n - 1);
  });

  it("watches a recording that is still being written grow, and says a broken one cannot be opened", async () => {
    // Another tab records a live run while this one watches the list.
    const writer = await browser.context.newPage();
    try {
      await writer.goto(`${host.url}/live`);
      await writer.waitForFunction(() => window.simhost && document.querySelectorAll("#asset-options option").length > 0, null, { timeout: 15000 });
      await writer.fill("#pos-z", "3");
      await writer.fill("#vel-x", "0");
      await writer.click("#add-object");
      await writer.fill("#duration", "60");
      await writer.fill("#speed", "1");
      await writer.check("#record");
      await writer.click("#start");
      await writer.waitForFunction(() => (window.simhost.lastFrame?.frame_id ?? 0) > 20, null, { timeout: 30000 });
      await page.click("#lib-refresh");
      await until(() => [...document.querySelectorAll("#lib-list li")].some((li) => li.className.includes("recording")), null, 15000);
      const live = await page.$eval("#lib-list li.recording", (li) => ({ id: li.dataset.id, text: li.textContent }));
      assert.match(live.text, /still being written/);
      await page.click(`#lib-list li[data-id="${live.id}"]`);
      await until((id) => window.simhost.source?.id === id, live.id, 15000);
      const n0 = await evalPage(() => window.simhost.source.range().count);
      assert.match(await page.textContent("#tl-span"), /still being written/);
      await until((n) => window.simhost.source.range().count > n + 10, n0, 30000); // it grows while watched
    } finally {
      await stopIfRunning(writer);
      await writer.close();
    }
    await page.goto(`${host.url}/?recording=broken`);
    await until(() => /cannot be opened/.test(document.querySelector("#view-message").textContent), null, 15000);
    assert.match(await page.textContent("#view-message"), /This recording cannot be opened: recording 'broken' is unreadable/);
  });

  it("says so when the host goes away", async () => {
    // A recording whose frames come in several ranges: the first is read, the last is not yet.
    await evalPage(() => window.simhost.openRecording("avalanche1000"));
    await until(() => window.simhost.source?.id === "avalanche1000" && window.simhost.shownFrame?.frame_id === 0, null, 180000);
    await host.stop();
    await evalPage(() => window.simhost.timeline.seek({ last: true }));
    await until(() => /This frame cannot be shown/.test(document.querySelector("#view-message").textContent), null, 15000);
    assert.match(await page.textContent("#view-message"), /This frame cannot be shown: the host does not answer/);
    assert.equal(await evalPage(() => window.simhost.shownFrame.frame_id), 0, "the frame on screen stays");
    await page.click("#lib-refresh");
    await until(() => /the host does not answer/.test(document.querySelector("#lib-status").textContent), null, 15000);
    assert.deepEqual(pageErrors, []);
  });
});
