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
import { EnergyPlot, frameEnergy } from "./plot.js";
import { quatToPitchRollYaw } from "./math.js";

const $ = (id) => document.getElementById(id);
const PANEL_INTERVAL_MS = 100; // text panels refresh at 10 Hz: enough to read, cheap on layout

const editor = new Editor();
const view = new SceneView($("canvas"));
const plot = new EnergyPlot($("energy-plot"));
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

window.simhost = {
  get state() { return page.state; },
  get lastFrame() { return page.lastFrame; },
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
  get energy() { return page.lastFrame ? frameEnergy(page.lastFrame, page.masses) : null; },
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
  $("st-render").textContent = text;
  $("st-render-box").title = `drawing-buffer resolution; last change: ${reason}`;
}

// --- run controls ----------------------------------------------------------------------------

function setState(state) {
  page.state = state;
  $("st-state").textContent = state;
  const final = state === "idle" || FINAL_STATES.has(state);
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
  $("st-error").textContent = text;
}

function start() {
  if (page.run && !FINAL_STATES.has(page.run.state)) return;
  const errors = [];
  const configure = editor.buildConfigure();
  if (configure.errors) errors.push(...configure.errors);
  const startMsg = editor.buildStart(errors);
  $("run-errors").textContent = errors.join("; ");
  if (errors.length) return;

  showError("");
  page.runs++;
  page.metadata = null;
  page.lastFrame = page.appliedFrame = null;
  page.framesReceived = 0;
  page.delivered = 0;
  page.dropped = 0;
  page.rtfSamples.length = 0;
  page.masses.clear();
  page.bodyInfo.clear();
  view.clear();
  plot.reset();
  selectBody(-1);
  $("st-bodies").textContent = "0";

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
        for (const b of msg.bodies) {
          page.masses.set(b.body_id, b.mass);
          page.bodyInfo.set(b.body_id, b);
        }
        view.setMetadata(msg);
        $("st-bodies").textContent = String(msg.bodies.length);
      },
      onFrame: (data) => {
        if (page.run !== run) return; // a late message of an earlier run
        const t0 = performance.now();
        page.lastFrame = data;
        page.delivered++;
        // Frames that arrived: decoded ones plus those the decoder skipped for a newer one.
        page.framesReceived = page.delivered + run.coalesced;
        page.dropped = Math.max(page.dropped, data.frame_id + 1 - page.framesReceived);
        plot.add(data.simulation_time, frameEnergy(data, page.masses));
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
      },
    },
  });
  page.run = run;
  setState(run.state);
}

$("start").addEventListener("click", start);
$("stop").addEventListener("click", () => page.run?.stop());
$("pause").addEventListener("click", () => page.run?.pause());
$("resume").addEventListener("click", () => page.run?.resume());
$("step").addEventListener("click", () => {
  const errors = [];
  const n = editor.stepFrames(errors);
  $("run-errors").textContent = errors.join("; ");
  if (!errors.length) page.run?.step(n);
});

// --- view tools ------------------------------------------------------------------------------

for (const [id, name] of [["ov-contacts", "contacts"], ["ov-velocity", "velocity"], ["ov-axes", "axes"]]) {
  $(id).addEventListener("change", () => view.setOverlay(name, $(id).checked));
  view.setOverlay(name, $(id).checked);
}
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
  view.select(id);
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
  $("impulse-errors").textContent = errors.join("; ");
  if (errors.length || page.state !== "paused" || view.selected < 0) return;
  page.run?.applyImpulse(view.selected, impulse);
});

const f3 = (v) => (Math.abs(v) < 5e-4 ? 0 : v).toFixed(3);
const vec = (v) => `${f3(v.x)}, ${f3(v.y)}, ${f3(v.z)}`;

function updateInspector(frame) {
  const id = view.selected;
  if (id < 0) return;
  const info = page.bodyInfo.get(id);
  $("insp-id").textContent = String(id);
  $("insp-asset").textContent = info ? `${info.asset_name} (#${info.asset_id})` : "–";
  $("insp-type").textContent = info ? (info.is_environment ? "environment" : "inertial") : "–";
  $("insp-mass").textContent = info ? `${+info.mass.toPrecision(6)} kg` : "–";
  // Materials travel as float32 on the host: 0.2 comes back as 0.200000003, so show 6 digits.
  $("insp-material").textContent = info ? `restitution ${+info.restitution.toPrecision(6)}, friction ${+info.friction.toPrecision(6)}` : "–";
  const s = view.stateOf(id);
  if (!s) return;
  $("insp-position").textContent = vec(s.position);
  $("insp-velocity").textContent = vec(s.velocity);
  $("insp-angvel").textContent = vec(s.angular_velocity);
  const q = s.orientation;
  $("insp-quat").textContent = `w ${f3(q.w)}, x ${f3(q.x)}, y ${f3(q.y)}, z ${f3(q.z)}`;
  const e = quatToPitchRollYaw(q);
  $("insp-euler").textContent = `pitch ${e[0].toFixed(1)}°, roll ${e[1].toFixed(1)}°, yaw ${e[2].toFixed(1)}°`;
  $("insp-contacts").textContent = String(frame.contactsOf(id));
  $("insp-sleeping").textContent = s.sleeping === undefined ? "–" : String(s.sleeping);
}

// --- panels and status -----------------------------------------------------------------------

function updatePanels() {
  const f = page.lastFrame;
  $("st-frame").textContent = f ? String(f.frame_id) : "–";
  $("st-time").textContent = f ? f.simulation_time.toFixed(3) : "0.000";
  $("st-dropped").textContent = String(page.dropped);
  const r = page.rtfSamples;
  if (page.state === "running" && r.length >= 4) {
    const wall = (r[r.length - 2] - r[0]) / 1000, sim = r[r.length - 1] - r[1];
    $("st-rtf").textContent = wall > 0 ? (sim / wall).toFixed(2) : "–";
  } else if (page.state !== "running") {
    $("st-rtf").textContent = page.state === "paused" ? "paused" : "–";
  }
  const sv = f?.solver;
  $("sv-iterations").textContent = sv ? String(sv.iterations) : "–";
  $("sv-residual").textContent = sv ? Number(sv.residual).toExponential(2) : "–";
  $("sv-converged").textContent = sv ? (sv.converged ? "yes" : "no") : "–";
  $("sv-constraints").textContent = sv ? String(sv.num_constraints) : "–";
  $("sv-contacts").textContent = sv ? String(sv.num_contacts) : "–";
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
  const f = page.lastFrame;
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
    plot.draw();
  }
  if (now - lastFpsText >= 1000) {
    // Frames drawn per second (the view draws on demand, so a still view shows 0).
    $("fps").textContent = `${(((page.draws - lastDraws) * 1000) / (now - lastFpsText)).toFixed(0)} fps`;
    lastFpsText = now;
    lastDraws = page.draws;
  }
  requestAnimationFrame(animate);
}
requestAnimationFrame(animate);

// --- start-up --------------------------------------------------------------------------------

setState("idle");
fetchAssets()
  .then((list) => editor.setAssets(list))
  .catch((e) => showError(`asset list: ${e.message}`));
fetchScenarios()
  .then((list) => editor.setScenarios(list))
  .catch(() => editor.setScenarios([])); // scenarios are an extension; a host without them is fine
