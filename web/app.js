// Live view glue: wires the editor, the run controls, the 3D view, the panels and the status bar.
//
// Frames are never rendered as they arrive: they come decoded from the socket's worker
// (socket.js), the handler only keeps the newest, and the animation loop applies that one (if it
// changed) once per display refresh and draws. So a burst of frames costs the main thread almost
// nothing, and the page never falls behind the stream. The quality governor (quality.js) sets the
// drawing resolution from the refresh intervals.
//
// window.simhost exposes the page's state (last frame, metadata, messages sent, render timings)
// for the end-to-end tests and for poking at a run from the devtools console.

import { fetchAssets, fetchScenarios, LiveRun, FINAL_STATES } from "./protocol.js";
import { Editor, parseNumber } from "./editor.js";
import { SceneView } from "./scene.js";
import { QualityGovernor } from "./quality.js";
import { TimePlot, Series, frameEnergy, bodySample, PLOTS, niceCeil } from "./plot.js";
import { quatToPitchRollYaw } from "./math.js";
import { LiveSource, Timeline } from "./timeline.js";
import { fetchRecordings, describeRecording, RecordingSource, REFRESH_INTERVAL_MS } from "./recording.js";

const $ = (id) => document.getElementById(id);
// Text and attributes are written only when they change: a write of the same text still replaces
// the node and costs a layout (the 1000-body scrub measured two layouts and paints per frame).
const setTextOf = (el, text) => {
  if (el.textContent !== text) el.textContent = text;
};
const setText = (id, text) => setTextOf($(id), text);
const setProp = (el, key, value) => {
  if (el[key] !== value) el[key] = value;
};
const setData = (el, key, value) => {
  if (el.dataset[key] !== value) el.dataset[key] = value;
};
const PANEL_INTERVAL_MS = 100; // text panels refresh at 10 Hz: enough to read, cheap on layout

const editor = new Editor();
const view = new SceneView($("canvas"));
const plot = new TimePlot($("plot"), { onSeek: (t) => timeline.seekTime(t) });
const governor = new QualityGovernor((level, reason) => {
  view.setQuality(level);
  showQuality(reason);
});

const page = {
  state: "idle",
  run: null,
  runs: 0,
  metadata: null,
  masses: new Map(),
  inertias: new Map(), // body_id -> 9 numbers (metadata's `inertia`, ext)
  energy: new Series(PLOTS.energy.series.map((d) => d.key).concat("kinetic")),
  body: new Series(["speed", "vx", "vy", "vz", "spin", "wx", "wy", "wz"]), // the selected body
  timestep: 1 / 60,
  bodyInfo: new Map(),
  lastFrame: null,
  appliedFrame: null,
  framesReceived: 0,
  delivered: 0,
  dropped: 0,
  error: "",
  sent: [], // every message sent, all runs (tests read the configure they caused)
  rtfSamples: [], // [wall ms, simulation s] of recent frames
  frameTimes: new Float64Array(600), // requestAnimationFrame timestamps, a ring
  frameTimeCount: 0,
  draws: 0, // animation frames that drew (the view draws on demand)
  workMs: new Float64Array(600), // main-thread time of applyFrame + render submission, same ring
  cost: { decode: new Float64Array(240), receive: new Float64Array(240), apply: new Float64Array(240), received: 0, applied: 0 },
  source: null, // the timeline's frame source (timeline.js)
  recordingId: null, // the live run's recording, once `complete` named it
  refreshTimer: 0, // re-reads a recording that is still being written
  recordings: [], // the last list read
};

// Mean of the newest min(count, ring size) entries of a ring written at count % size.
function ringMean(ring, count) {
  const k = Math.min(count, ring.length);
  let sum = 0;
  for (let i = 1; i <= k; i++) sum += ring[(count - i) % ring.length];
  return k ? sum / k : 0;
}

// The page's cost per frame (issue 18: measured, not asserted): what the end-to-end run prints.
// decodeMs: reading one frame where the socket lives (the worker, normally); receiveMs: main-thread
// time taking a decoded frame (wrapping it, energy plot); applyMs: main-thread time applying one frame
// to the view (instance matrices, overlays) — the frame's share of a draw, the draw itself excluded.
window.simhostStats = {
  get encoding() { return page.run?.start?.encoding ?? "none"; },
  get framesReceived() { return page.cost.received; },
  get framesApplied() { return page.cost.applied; },
  get decodeMs() { return ringMean(page.cost.decode, page.cost.received); },
  get receiveMs() { return ringMean(page.cost.receive, page.cost.received); },
  get applyMs() { return ringMean(page.cost.apply, page.cost.applied); },
  get decoding() { return page.run?.decoding ?? "none"; },
};

// The frame on screen: the newest one while the timeline follows the run, else the cursor's.
const timeline = new Timeline({
  onFrame: () => {},
  onChange: () => showTimeline(),
  liveFrame: () => page.lastFrame,
  onError: (text) => message(text ? `This frame cannot be shown: ${text}` : "", !!text),
});
const shownFrame = () => (timeline.following ? page.lastFrame : timeline.frame);

window.simhost = {
  get state() { return page.state; },
  get lastFrame() { return page.lastFrame; },
  get shownFrame() { return shownFrame(); },
  get source() { return page.source; },
  get recordings() { return page.recordings; },
  openRecording: (id) => openRecording(id),
  get appliedFrame() { return page.appliedFrame; },
  timeline,
  get metadata() { return page.metadata; },
  get framesReceived() { return page.framesReceived; },
  get coalesced() { return page.run?.coalesced ?? 0; },
  get decoding() { return page.run?.decoding ?? "none"; },
  get error() { return page.error; },
  get sent() { return page.sent; },
  get runs() { return page.runs; },
  get selected() { return view.selected; },
  get quality() { return { ...view.quality, shadows: view.shadows, auto: governor.auto, level: governor.level, reason: governor.reason }; },
  get draws() { return page.draws; },
  get energy() { return page.lastFrame ? frameEnergy(page.lastFrame, page.masses, page.inertias) : null; },
  plot,
  get plotSeries() { return plotSeries(); },
  plotCSV: () => plotCSV(),
  screenshot: () => screenshotURL(),
  editor,
  view,
  setObjects: (list) => editor.setObjects(list),
  select: (id) => selectBody(id),
  // Mean main-thread milliseconds per animation frame spent applying the frame and submitting the
  // draw (the GPU's own time is not in it), over the last n animation frames.
  workMs(n = 120) {
    const k = Math.min(n, page.frameTimeCount, page.workMs.length);
    let sum = 0;
    for (let i = 1; i <= k; i++) sum += page.workMs[(page.frameTimeCount - i) % page.workMs.length];
    return k ? sum / k : 0;
  },
  // Mean rendering rate over the last `seconds` of animation frames.
  fps(seconds = 2) {
    const n = Math.min(page.frameTimeCount, page.frameTimes.length);
    if (n < 2) return 0;
    const last = page.frameTimes[(page.frameTimeCount - 1) % page.frameTimes.length];
    let count = 0, first = last;
    for (let i = 1; i < n; i++) {
      const t = page.frameTimes[(page.frameTimeCount - 1 - i) % page.frameTimes.length];
      if (last - t > seconds * 1000) break;
      first = t;
      count++;
    }
    return count > 0 ? (count * 1000) / (last - first) : 0;
  },
};

// The resolution the view draws at (and shadows, when the governor turned them off), with the
// reason of the last change as the tooltip.
function showQuality(reason) {
  const q = view.quality;
  let text = `${Math.round(q.scale * 100)}%`;
  if (!view.shadows) text += " · no shadows";
  if (!$("auto-quality").checked) text += " (fixed)";
  setText("st-render", text);
  $("st-render-box").title = `drawing-buffer resolution; last change: ${reason}`;
}

// --- run controls ----------------------------------------------------------------------------

function setState(state) {
  page.state = state;
  setText("st-state", state);
  const final = state === "idle" || state === "replay" || FINAL_STATES.has(state);
  $("start").disabled = !final;
  $("stop").disabled = final;
  $("pause").disabled = state !== "running";
  $("resume").disabled = state !== "paused";
  $("step").disabled = state !== "paused";
  $("apply-impulse").disabled = state !== "paused" || view.selected < 0;
  document.body.dataset.state = state;
  if (FINAL_STATES.has(state)) updatePanels();
}

function showError(text) {
  page.error = text;
  setText("st-error", text);
}

// Starts a run from the editor, or (resume) from a recorded frame: configure {resume}.
function start(resume = null) {
  if (page.run && !FINAL_STATES.has(page.run.state)) return;
  const errors = [];
  const configure = resume ? { message: { type: "configure", resume } } : editor.buildConfigure();
  if (configure.errors) errors.push(...configure.errors);
  const startMsg = editor.buildStart(errors);
  if ($("record").checked) startMsg.record = true;
  setText("run-errors", errors.join("; "));
  if (errors.length) return;
  closeRecording();
  page.recordingId = null;
  if (location.search.includes("recording=")) history.replaceState(null, "", "/live"); // a reload shows the editor

  showError("");
  page.run?.close(); // its socket and its history go
  page.runs++;
  page.metadata = null;
  page.lastFrame = page.appliedFrame = null;
  page.framesReceived = 0;
  page.delivered = 0;
  page.dropped = 0;
  page.rtfSamples.length = 0;
  page.masses.clear();
  page.inertias.clear();
  page.bodyInfo.clear();
  page.energy.reset();
  page.body.reset();
  page.timestep = startMsg.timestep_ms / 1000;
  view.clear();
  selectBody(-1);
  setText("st-bodies", "0");

  const run = new LiveRun({
    configure: configure.message,
    start: startMsg,
    log: page.sent,
    handlers: {
      onState: (s) => {
        if (page.run === run) setState(s);
      },
      onError: (text) => {
        if (page.run === run) showError(text);
      },
      onMetadata: (msg) => {
        if (page.run !== run) return; // a late message of an earlier run
        page.metadata = msg;
        setBodies(msg);
        view.setMetadata(msg);
        setText("st-bodies", String(msg.bodies.length));
      },
      onRange: (r) => {
        if (page.run === run) page.source?.setRange(r);
      },
      onFrame: (data) => {
        if (page.run !== run) return; // a late message of an earlier run
        const t0 = performance.now();
        page.lastFrame = data;
        page.delivered++;
        // Frames that arrived: decoded ones plus those the decoder skipped for a newer one.
        page.framesReceived = page.delivered + run.coalesced;
        page.dropped = Math.max(page.dropped, data.frame_id + 1 - page.framesReceived);
        addSamples(data);
        const now = performance.now();
        page.rtfSamples.push(now, data.simulation_time);
        // Keep about two seconds of samples for the real-time factor.
        while (page.rtfSamples.length > 4 && now - page.rtfSamples[0] > 2000) page.rtfSamples.splice(0, 2);
        const c = page.cost, slot = c.received++ % c.decode.length;
        c.decode[slot] = data.decodeMs ?? 0;
        c.receive[slot] = performance.now() - t0;
      },
      onComplete: (msg) => {
        if (page.run !== run) return; // a late message of an earlier run
        if (Number.isFinite(msg.dropped_frames)) page.dropped = Math.max(page.dropped, msg.dropped_frames);
        if (typeof msg.recording?.id === "string") page.recordingId = msg.recording.id;
        showTimeline();
      },
    },
  });
  page.run = run;
  page.source = new LiveSource(run);
  timeline.setSource(page.source);
  setState(run.state);
}

$("start").addEventListener("click", () => start());
$("stop").addEventListener("click", () => page.run?.stop());
$("pause").addEventListener("click", () => page.run?.pause());
$("resume").addEventListener("click", () => page.run?.resume());
$("step").addEventListener("click", () => {
  const errors = [];
  const n = editor.stepFrames(errors);
  setText("run-errors", errors.join("; "));
  if (!errors.length) page.run?.step(n);
});

// --- view tools ------------------------------------------------------------------------------

const showLegend = () => ($("force-legend").hidden = !($("ov-forces").checked || $("ov-gravity").checked));
for (const [id, name] of [["ov-contacts", "contacts"], ["ov-velocity", "velocity"], ["ov-axes", "axes"], ["ov-forces", "forces"], ["ov-gravity", "gravity"]]) {
  $(id).addEventListener("change", () => {
    view.setOverlay(name, $(id).checked);
    showLegend();
  });
  view.setOverlay(name, $(id).checked);
}
showLegend();
$("reset-camera").addEventListener("click", () => view.resetCamera());
$("shadows").addEventListener("change", () => {
  view.setShadows($("shadows").checked);
  showQuality($("shadows").checked ? "shadows on" : "shadows off");
});
$("auto-quality").addEventListener("change", () => governor.setAuto($("auto-quality").checked));
$("follow").addEventListener("change", () => view.setFollow($("follow").checked));

// A click (not a drag, which orbits the camera) selects the body under the pointer.
let down = null;
$("canvas").addEventListener("pointerdown", (ev) => {
  down = { x: ev.clientX, y: ev.clientY };
});
$("canvas").addEventListener("pointerup", (ev) => {
  if (!down || Math.hypot(ev.clientX - down.x, ev.clientY - down.y) > 4) return;
  down = null;
  selectBody(view.pick(ev.clientX, ev.clientY));
});

// --- inspector -------------------------------------------------------------------------------

function selectBody(id) {
  const changed = id !== view.selected;
  view.select(id);
  if (changed) loadBodySeries(id);
  if (view.follow) view.setFollow(true);
  const has = id >= 0;
  $("insp-empty").hidden = has;
  $("insp-table").hidden = !has;
  $("impulse-form").hidden = !has;
  $("apply-impulse").disabled = page.state !== "paused" || !has;
  updatePanels();
}

$("impulse-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const errors = [];
  const impulse = ["imp-x", "imp-y", "imp-z"].map((id) => {
    const v = parseNumber($(id).value);
    $(id).setAttribute("aria-invalid", v === null ? "true" : "false");
    if (v === null) errors.push(`impulse ${id.slice(-1)}: "${$(id).value}" is not a number`);
    return v;
  });
  setText("impulse-errors", errors.join("; "));
  if (errors.length || page.state !== "paused" || view.selected < 0) return;
  page.run?.applyImpulse(view.selected, impulse);
});

const f3 = (v) => (Math.abs(v) < 5e-4 ? 0 : v).toFixed(3);
const vec = (v) => `${f3(v.x)}, ${f3(v.y)}, ${f3(v.z)}`;

function updateInspector(frame) {
  const id = view.selected;
  if (id < 0) return;
  const info = page.bodyInfo.get(id);
  setText("insp-id", String(id));
  setText("insp-asset", info ? `${info.asset_name} (#${info.asset_id})` : "–");
  setText("insp-type", info ? (info.is_environment ? "environment" : "inertial") : "–");
  setText("insp-mass", info ? `${+info.mass.toPrecision(6)} kg` : "–");
  // Materials travel as float32 on the host: 0.2 comes back as 0.200000003, so show 6 digits.
  setText("insp-material", info ? `restitution ${+info.restitution.toPrecision(6)}, friction ${+info.friction.toPrecision(6)}` : "–");
  const s = view.stateOf(id);
  if (!s) return;
  setText("insp-position", vec(s.position));
  setText("insp-velocity", vec(s.velocity));
  setText("insp-angvel", vec(s.angular_velocity));
  const q = s.orientation;
  setText("insp-quat", `w ${f3(q.w)}, x ${f3(q.x)}, y ${f3(q.y)}, z ${f3(q.z)}`);
  const e = quatToPitchRollYaw(q);
  setText("insp-euler", `pitch ${e[0].toFixed(1)}°, roll ${e[1].toFixed(1)}°, yaw ${e[2].toFixed(1)}°`);
  setText("insp-contacts", String(frame.contactsOf(id)));
  showContacts(frame, id, info);
  setText("insp-sleeping", s.sleeping === undefined ? "–" : String(s.sleeping));
}

// --- panels and status -----------------------------------------------------------------------

function updatePanels() {
  const f = shownFrame();
  setText("st-frame", f ? String(f.frame_id) : "–");
  setText("st-time", f ? f.simulation_time.toFixed(3) : "0.000");
  setText("st-dropped", String(page.dropped));
  const r = page.rtfSamples;
  if (page.state === "running" && r.length >= 4) {
    const wall = (r[r.length - 2] - r[0]) / 1000, sim = r[r.length - 1] - r[1];
    setText("st-rtf", wall > 0 ? (sim / wall).toFixed(2) : "–");
  } else if (page.state !== "running") {
    setText("st-rtf", page.state === "paused" ? "paused" : "–");
  }
  const sv = f?.solver;
  setText("sv-iterations", sv ? String(sv.iterations) : "–");
  setText("sv-residual", sv ? Number(sv.residual).toExponential(2) : "–");
  setText("sv-converged", sv ? (sv.converged ? "yes" : "no") : "–");
  setText("sv-constraints", sv ? String(sv.num_constraints) : "–");
  setText("sv-contacts", sv ? String(sv.num_contacts) : "–");
  if (f) updateInspector(f);
}

let lastPanels = 0;
let lastFpsText = 0;
let lastDrawAt = -Infinity;
let lastDraws = 0;
function animate(now) {
  page.frameTimes[page.frameTimeCount % page.frameTimes.length] = now;
  page.frameTimeCount++;
  // A view that has not drawn for a quarter second is still; its refreshes cost nothing.
  governor.tick(now, now - lastDrawAt > 250);
  timeline.tick(now);
  const f = shownFrame();
  const t0 = performance.now();
  if (f && f !== page.appliedFrame) {
    view.applyFrame(f);
    page.appliedFrame = f;
    page.cost.apply[page.cost.applied++ % page.cost.apply.length] = performance.now() - t0;
  }
  if (view.render()) {
    page.draws++;
    lastDrawAt = now;
  }
  page.workMs[(page.frameTimeCount - 1) % page.workMs.length] = performance.now() - t0;
  if (now - lastPanels >= PANEL_INTERVAL_MS) {
    lastPanels = now;
    updatePanels();
    showPlot();
    showTimeline();
  }
  if (now - lastFpsText >= 1000) {
    // Frames drawn per second (the view draws on demand, so a still view shows 0).
    setText("fps", `${(((page.draws - lastDraws) * 1000) / (now - lastFpsText)).toFixed(0)} fps`);
    lastFpsText = now;
    lastDraws = page.draws;
  }
  requestAnimationFrame(animate);
}
requestAnimationFrame(animate);

// --- why it moves: plots, forces, contacts ---------------------------------------------------

function setBodies(meta) {
  let heaviest = 0;
  for (const b of meta.bodies) {
    page.masses.set(b.body_id, b.mass);
    page.bodyInfo.set(b.body_id, b);
    if (Array.isArray(b.inertia) && b.inertia.length === 9) page.inertias.set(b.body_id, Float64Array.from(b.inertia));
    if (!b.is_environment) heaviest = Math.max(heaviest, b.mass * 9.81);
  }
  // One absolute scale for the whole run, so arrows compare across frames: the heaviest body's
  // weight rounded up to 1, 2 or 5 × 10^k newtons is one metre of arrow.
  const scale = niceCeil(heaviest || 10);
  view.setForceScale(scale, page.timestep);
  setText("force-legend", `arrows: 1 m = ${scale} N · normal pink, friction yellow, weight violet`);
}


function addSamples(frame) {
  page.energy.add(frame.simulation_time, frameEnergy(frame, page.masses, page.inertias));
  if (view.selected >= 0 && !bodyLoading) {
    const s = bodySample(frame, view.selected);
    if (s) page.body.add(frame.simulation_time, s);
  }
}

// A newly selected body's series from what the source holds (the live history in the worker, or
// the recording), then the frames that arrive after.
let bodyLoading = false;
let bodyRequest = 0;
async function loadBodySeries(id) {
  page.body.reset();
  const src = timeline.source;
  if (id < 0 || !src?.bodySeries) return;
  const req = ++bodyRequest;
  bodyLoading = true;
  let got = null;
  try {
    got = await src.bodySeries(id);
  } catch (e) {
    showError(`velocity series: ${e.message}`);
  }
  if (req !== bodyRequest) return;
  bodyLoading = false;
  page.body.reset();
  if (!got) return;
  const { t, values } = got;
  const sample = {};
  for (let i = 0; i < t.length; i++) {
    for (const k of page.body.keys) sample[k] = values[k][i];
    page.body.add(t[i], sample);
  }
}

function plotSeries() {
  return $("plot-kind").value === "energy" ? page.energy : page.body;
}

function showPlot() {
  const kind = $("plot-kind").value;
  const empty = kind !== "energy" && view.selected < 0 ? "click a body in the view" : bodyLoading ? "loading…" : "no data yet";
  plot.show(kind, plotSeries(), empty);
  const f = shownFrame();
  plot.setCursor(f ? f.simulation_time : null);
  plot.draw();
}

function plotCSV() {
  const kind = $("plot-kind").value;
  const series = plotSeries();
  const labels = series.keys.map((k) => (kind === "energy" ? `${k}_J` : k.startsWith("w") || k === "spin" ? `${k}_rad_s` : `${k}_m_s`));
  return series.csv(labels);
}

function download(name, href) {
  const a = document.createElement("a");
  a.href = href;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

$("plot-kind").addEventListener("change", () => showPlot());
$("plot-csv").addEventListener("click", () => {
  const kind = $("plot-kind").value;
  const url = URL.createObjectURL(new Blob([plotCSV()], { type: "text/csv" }));
  const who = kind === "energy" ? "" : `-body${view.selected}`;
  download(`simhost-${kind}${who}.csv`, url);
  setTimeout(() => URL.revokeObjectURL(url), 10000);
});

// The canvas keeps its drawing buffer (scene.js), so what is on screen is what the PNG holds.
function screenshotURL() {
  view.invalidate();
  view.render();
  return view.canvas.toDataURL("image/png");
}
$("screenshot").addEventListener("click", () => {
  const f = shownFrame();
  download(`simhost-frame${f ? f.frame_id : ""}.png`, screenshotURL());
});

const fmt = (v) => (Number.isFinite(v) ? (Math.abs(v) < 5e-4 ? 0 : v).toFixed(3) : "–");
const SLIP_MS = 0.005; // slower relative motion at a contact point than 5 mm/s counts as sticking

// Tangential speed of body `id` against the other body at a contact point: v + ω × r of each.
function slipSpeed(frame, id, c) {
  const rel = [0, 0, 0];
  for (const [body, sign] of [[id, 1], [c.other, -1]]) {
    const i = frame.indexOf(body);
    if (i < 0) continue;
    const p = frame.pose, v = frame.velocity, o = 6 * i;
    const rx = c.point.x - p[7 * i], ry = c.point.y - p[7 * i + 1], rz = c.point.z - p[7 * i + 2];
    const wx = v[o + 3], wy = v[o + 4], wz = v[o + 5];
    rel[0] += sign * (v[o] + wy * rz - wz * ry);
    rel[1] += sign * (v[o + 1] + wz * rx - wx * rz);
    rel[2] += sign * (v[o + 2] + wx * ry - wy * rx);
  }
  const n = c.normal;
  const vn = rel[0] * n.x + rel[1] * n.y + rel[2] * n.z;
  return Math.hypot(rel[0] - vn * n.x, rel[1] - vn * n.y, rel[2] - vn * n.z);
}
function showContacts(frame, id, info) {
  const list = frame.contactsFor(id);
  const table = $("insp-contact-list");
  setProp(table, "hidden", list.length === 0);
  const body = table.tBodies[0];
  const rows = list.map((c) => {
    const other = page.bodyInfo.get(c.other);
    const mu = info && other ? Math.sqrt(info.friction * other.friction) : NaN;
    const limit = mu * c.normalImpulse;
    // Sliding: the two surfaces move against each other at the point (then friction sits at the
    // μ·N limit). Judged by the slip speed, not by friction reaching μ·N: a resting box's solver
    // leftovers can touch the limit while nothing moves.
    const slip = slipSpeed(frame, id, c);
    const sliding = slip > SLIP_MS;
    const fv = c.frictionVector;
    const dir = fv ? ` (${fmt(fv.x)}, ${fmt(fv.y)}, ${fmt(fv.z)})` : "";
    return { cls: sliding ? "sliding" : "", cells: [String(c.other), fmt(c.normalImpulse), fmt(c.frictionImpulse) + dir, fmt(limit), sliding ? `sliding ${slip.toFixed(2)} m/s` : "sticking"] };
  });
  while (body.rows.length > rows.length) body.deleteRow(-1);
  while (body.rows.length < rows.length) {
    const tr = body.insertRow();
    for (let k = 0; k < 5; k++) tr.insertCell();
  }
  rows.forEach((r, i) => {
    const tr = body.rows[i];
    setProp(tr, "className", r.cls);
    r.cells.forEach((text, k) => setTextOf(tr.cells[k], text));
  });
  const m = info?.mass ?? 0;
  setText("insp-weight", info?.is_environment ? "–" : `weight m·g = ${fmt(m * 9.81)} N (timestep ${(page.timestep * 1000).toFixed(0)} ms: force = impulse / timestep)`);
}

// --- recordings --------------------------------------------------------------------------------

function message(text, isError = false) {
  const el = $("view-message");
  el.hidden = !text;
  el.textContent = text;
  el.classList.toggle("error", isError);
}

async function loadLibrary() {
  setText("lib-status", "loading…");
  try {
    page.recordings = await fetchRecordings();
  } catch (e) {
    page.recordings = [];
    setText("lib-status", e.message);
    $("lib-list").replaceChildren();
    return;
  }
  setText("lib-status", page.recordings.length ? `${page.recordings.length} recordings, newest first` : "no recordings yet: tick “record” under Run, or run `simhost run --record`");
  $("lib-list").replaceChildren(...page.recordings.map((r) => {
    const d = describeRecording(r);
    const li = document.createElement("li");
    li.dataset.id = r.id;
    li.dataset.testid = "recording";
    li.className = d.state;
    if (page.source?.kind === "recording" && page.source.id === r.id) li.classList.add("open");
    const title = document.createElement("b");
    title.textContent = d.title;
    const when = document.createElement("span");
    when.className = "muted small";
    when.textContent = d.when ? `  ${d.when}` : "";
    const detail = document.createElement("span");
    detail.className = "detail";
    detail.textContent = d.detail;
    li.append(title, when, detail);
    if (d.state !== "unreadable") li.addEventListener("click", () => openRecording(r.id));
    else li.title = "this file cannot be read as a recording";
    return li;
  }));
}

function closeRecording() {
  clearInterval(page.refreshTimer);
  page.refreshTimer = 0;
  if (page.source?.kind === "recording") {
    page.source.close(); // its worker and the ranges it holds
    page.source = null;
    timeline.setSource(null);
  }
  message("");
}

async function fillEnergy(src) {
  try {
    const { t, values } = await src.energySeries();
    if (page.source !== src) return;
    page.energy.reset();
    const sample = {};
    for (let i = 0; i < t.length; i++) {
      for (const k of page.energy.keys) sample[k] = values[k][i];
      page.energy.add(t[i], sample);
    }
  } catch (e) {
    showError(`energy: ${e.message}`);
  }
}

// Opens a recording into the view, the timeline and the plots (any live run is left).
let opening = 0;
async function openRecording(id) {
  const ticket = ++opening;
  message(`opening recording ${id}…`);
  let src;
  try {
    src = await RecordingSource.open(id);
  } catch (e) {
    if (ticket === opening) message(`This recording cannot be opened: ${e.message}`, true);
    return;
  }
  if (ticket !== opening) return src.close();
  if (page.run && !FINAL_STATES.has(page.run.state)) page.run.stop();
  page.run?.close();
  page.run = null;
  closeRecording();
  showError("");
  page.metadata = src.metadata;
  page.lastFrame = page.appliedFrame = null;
  page.masses.clear();
  page.inertias.clear();
  page.bodyInfo.clear();
  page.energy.reset();
  page.body.reset();
  page.timestep = src.meta.timestep > 0 ? src.meta.timestep : 1 / 60;
  view.clear();
  setBodies(src.metadata);
  view.setMetadata(src.metadata);
  selectBody(-1);
  setText("st-bodies", String(src.metadata.bodies.length));
  page.source = src;
  timeline.setSource(src);
  setState("replay");
  history.replaceState(null, "", `/?recording=${encodeURIComponent(id)}`);
  message(src.range().count ? "" : "this recording has no frames yet");
  timeline.home();
  fillEnergy(src);
  loadLibrary();
  if (src.growing) page.refreshTimer = setInterval(() => refreshRecording(src), REFRESH_INTERVAL_MS);
}

// A recording still being written grows while it is watched.
async function refreshRecording(src) {
  if (page.source !== src) return;
  try {
    const grew = await src.refresh();
    if (page.source !== src) return;
    if (grew) {
      message("");
      fillEnergy(src);
      if (!timeline.frame) timeline.home();
    }
    if (!src.growing) {
      clearInterval(page.refreshTimer);
      page.refreshTimer = 0;
      loadLibrary();
    }
    showTimeline();
  } catch (e) {
    message(`The recording stopped updating: ${e.message}`, true);
  }
}

function resumeHere() {
  const f = timeline.frame;
  const id = page.source?.kind === "recording" ? page.source.id : page.recordingId;
  if (!f || !id) return;
  if (page.source?.kind === "recording" && page.source.meta.timestep > 0) {
    // The resumed run steps as the recording did.
    $("timestep").value = "custom";
    $("timestep").dispatchEvent(new Event("change"));
    $("timestep-custom").value = String(Math.round(page.source.meta.timestep * 1e6) / 1e3);
  }
  start({ recording: id, frame: f.frame_id });
}

$("lib-refresh").addEventListener("click", (ev) => {
  ev.preventDefault();
  loadLibrary();
});
$("tl-resume").addEventListener("click", () => resumeHere());

// --- timeline ----------------------------------------------------------------------------------

let sliderHeld = false; // while the user drags, the slider is theirs
function showTimeline() {
  const el = $("timeline");
  const src = timeline.source;
  setData(el, "mode", !src ? "none" : timeline.following ? "live" : "review");
  setData(el, "source", src?.kind ?? "none"); // a recording has no "back to live"
  setData(el, "playing", String(timeline.playing));
  setText("tl-play", timeline.playing || timeline.following ? "||" : "▶");
  setProp($("tl-play"), "title", timeline.following ? "pause the view (the run goes on; Space)" : "play / pause the view (Space)");
  setProp($("tl-speed"), "value", String(timeline.speed));
  setProp($("tl-loop"), "checked", timeline.loop);
  const r = src?.range() ?? { count: 0 };
  const pos = timeline.position();
  setText("tl-frame", pos ? String(pos.id) : "–");
  setText("tl-time", pos ? pos.time.toFixed(3) : "–");
  if (!sliderHeld) {
    const share = !pos || !r.count || r.t1 <= r.t0 ? 1 : (pos.time - r.t0) / (r.t1 - r.t0);
    setProp($("tl-slider"), "value", String(Math.round(Math.max(0, Math.min(1, share)) * 1000)));
  }
  const canResume = src && !timeline.following && timeline.frame && (src.kind === "recording" || page.recordingId);
  setProp($("tl-resume"), "hidden", !canResume);
  setText("tl-span", !r.count ? "" : src.kind === "live"
    ? `history ${r.count} frames, ${(r.t1 - r.t0).toFixed(1)} s, ${(r.bytes / 1048576).toFixed(1)} MB${r.dropped ? " (oldest dropped)" : ""}`
    : `${r.count} frames, ${(r.t1 - r.t0).toFixed(1)} s${src.growing ? " · still being written" : ""}`);
}

$("tl-play").addEventListener("click", () => timeline.togglePlay());
$("tl-back").addEventListener("click", () => timeline.step(-1));
$("tl-fwd").addEventListener("click", () => timeline.step(1));
$("tl-home").addEventListener("click", () => timeline.home());
$("tl-end").addEventListener("click", () => timeline.end());
$("tl-live").addEventListener("click", () => timeline.backToLive());
$("tl-speed").addEventListener("change", () => timeline.setSpeed(Number($("tl-speed").value)));
$("tl-loop").addEventListener("change", () => timeline.setLoop($("tl-loop").checked));
$("tl-slider").addEventListener("pointerdown", () => (sliderHeld = true));
$("tl-slider").addEventListener("input", () => timeline.scrubTo(Number($("tl-slider").value) / 1000));
$("tl-slider").addEventListener("change", () => (sliderHeld = false));
window.addEventListener("pointerup", () => (sliderHeld = false));
// Timeline buttons do not take the focus, so Space after a click plays/pauses instead of clicking again.
for (const b of $("timeline").querySelectorAll("button, input[type=checkbox], select")) {
  if (b.tagName !== "SELECT") b.addEventListener("mousedown", (ev) => ev.preventDefault());
}

// Space, ←/→, +/−, Home/End drive the timeline unless the user is typing in a field.
document.addEventListener("keydown", (ev) => {
  const t = ev.target;
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if (t instanceof HTMLElement && (t.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(t.tagName)) && t.type !== "range") return;
  const act = {
    " ": () => timeline.togglePlay(),
    ArrowLeft: () => timeline.step(-1),
    ArrowRight: () => timeline.step(1),
    "+": () => timeline.faster(1),
    "=": () => timeline.faster(1),
    "-": () => timeline.faster(-1),
    Home: () => timeline.home(),
    End: () => timeline.end(),
  }[ev.key];
  if (!act || !timeline.source) return;
  ev.preventDefault();
  act();
});

// --- start-up --------------------------------------------------------------------------------

setState("idle");
// One page for both: at / it opens on the recordings list (and ?recording=id opens that one).
$("library").open = location.pathname === "/";
loadLibrary();
const wanted = new URLSearchParams(location.search).get("recording");
if (wanted) openRecording(wanted);
fetchAssets()
  .then((list) => editor.setAssets(list))
  .catch((e) => showError(`asset list: ${e.message}`));
fetchScenarios()
  .then((list) => editor.setScenarios(list))
  .catch(() => editor.setScenarios([])); // scenarios are an extension; a host without them is fine
