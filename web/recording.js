// Recordings as the page sees them: the list (GET /api/v1/simulations, newest first) and one
// recording as a frame source for the timeline (timeline.js), read through the replay API:
//   /metadata (bodies, run), /assets (render geometry), /frames (ids and times of every frame),
//   /frames.bin?start=&count= (the frames themselves, binary SHF1, read in a worker: frame-range.js),
//   /energy (the system's energy per frame), /velocity/{body} (one body's velocity series).
// Frames are read in ranges (rangeCount frames each) around the cursor, kept raw in the worker and
// decoded one at a time when shown, so scrubbing back and forth over a stretch costs one request per
// range and the main thread only wraps the arrays it is handed. A recording that is still being
// written is re-read every REFRESH_MS: the timeline grows while the user watches.

import { Frame } from "./frames.js";
import { RangeReader, rangeCount } from "./frame-range.js";
import { findIndex } from "./history.js";

const REFRESH_MS = 2000;

const API = "/api/v1/simulations";

// A fetch that turns every failure into one sentence a person understands.
export async function getJSON(path) {
  let res;
  try {
    res = await fetch(path, { headers: { Accept: "application/json" } });
  } catch {
    throw new Error("the host does not answer (is simhost serve still running?)");
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    // not JSON: reported below by status
  }
  if (!res.ok) {
    if (res.status === 404 && !body?.error) throw new Error("this host has no recordings API (it is older than the replay view)");
    throw new Error(body?.error ?? `HTTP ${res.status}`);
  }
  return body;
}

export const fetchRecordings = () => getJSON(API);

// One line for the list: what, when, how long, whether whole.
export function describeRecording(r) {
  if (r.readable === false) return { title: r.id, detail: `cannot be read: ${r.error ?? "unknown error"}`, state: "unreadable" };
  const seconds = (r.total_frames ?? 0) * (r.timestep ?? 0);
  const state = !r.finished ? "recording" : r.complete ? "complete" : "incomplete";
  const what = state === "recording" ? "still being written" : state === "complete" ? "complete" : `incomplete: ${r.reason ?? "ended early"}`;
  return {
    title: r.scenario ?? r.name ?? r.id,
    detail: `${r.body_count ?? "?"} bodies · ${seconds.toFixed(1)} s · ${r.total_frames ?? 0} frames · ${what}`,
    when: r.created ?? "",
    state,
  };
}

export class RecordingSource {
  // Opens a recording: its metadata, geometry and frame list. Throws with a readable message.
  static async open(id) {
    const base = `${API}/${encodeURIComponent(id)}`;
    const [meta, assets, rows] = await Promise.all([getJSON(`${base}/metadata`), getJSON(`${base}/assets`), getJSON(`${base}/frames`)]);
    if (!Array.isArray(meta?.bodies) || !Array.isArray(rows)) throw new Error(`recording '${id}' is unreadable: its metadata has no bodies`);
    const src = new RecordingSource(id, base, meta, Array.isArray(assets) ? assets : assets?.assets ?? []);
    src.setRows(rows);
    return src;
  }

  constructor(id, base, meta, assets) {
    this.kind = "recording";
    this.id = id;
    this.base = base;
    this.meta = meta;
    // The view takes the live protocol's metadata message: bodies plus render geometry.
    this.metadata = { type: "metadata", bodies: meta.bodies, assets };
    this.chunkSize = rangeCount(meta.bodies.length);
    this.frames = openFrames(base, this.metadata);
    this.energyRows = null;
  }

  get growing() {
    return this.meta.finished === false;
  }

  setRows(rows) {
    this.ids = Float64Array.from(rows, (r) => r.frame_id);
    this.times = Float64Array.from(rows, (r) => r.simulation_time);
  }

  // A recording still being written: re-read its run and frame list. Returns whether it grew.
  async refresh() {
    const before = this.ids.length;
    const [meta, rows] = await Promise.all([getJSON(`${this.base}/metadata`), getJSON(`${this.base}/frames`)]);
    this.meta = meta;
    if (rows.length !== before) this.setRows(rows);
    this.energyRows = rows.length !== before ? null : this.energyRows;
    return rows.length !== before;
  }

  range() {
    const n = this.ids.length;
    if (!n) return { count: 0 };
    return { count: n, firstId: this.ids[0], lastId: this.ids[n - 1], t0: this.times[0], t1: this.times[n - 1] };
  }

  find(q) {
    return findIndex(this.ids.length, (i) => this.ids[i], (i) => this.times[i], q);
  }

  // The frame of a query, read from its range (frame-range.js); the range the cursor is nearer to
  // on either side is fetched ahead, so stepping or playing across a range's end does not wait.
  async get(q) {
    const i = this.find(q);
    if (i < 0) return null;
    const n = this.ids.length, size = this.chunkSize;
    const k = Math.floor(i / size);
    const ahead = i - k * size >= size / 2 ? k + 1 : k - 1;
    const packed = await this.frames.get({
      start: this.ids[k * size], count: size, id: this.ids[i],
      next: ahead >= 0 && ahead * size < n ? this.ids[ahead * size] : undefined,
    });
    return packed ? new Frame(packed) : null;
  }

  close() {
    this.frames.close();
  }

  // The system's energy per frame (the recording stored it): { t, values: {linear, rotational,
  // potential, total, kinetic} }.
  async energySeries() {
    const rows = (this.energyRows ??= await getJSON(`${this.base}/energy`));
    const t = Float64Array.from(rows, (r) => r.simulation_time);
    const col = (f) => Float64Array.from(rows, f);
    return {
      t,
      values: {
        linear: col((r) => r.linear_ke),
        rotational: col((r) => r.rotational_ke),
        potential: col((r) => r.potential_e),
        kinetic: col((r) => r.linear_ke + r.rotational_ke),
        total: col((r) => r.total_system_e),
      },
    };
  }

  async bodySeries(bodyId) {
    const rows = await getJSON(`${this.base}/velocity/${bodyId}`);
    const col = (f) => Float64Array.from(rows, f);
    return {
      t: col((r) => r.simulation_time),
      values: {
        speed: col((r) => r.speed), vx: col((r) => r.vx), vy: col((r) => r.vy), vz: col((r) => r.vz),
        spin: col((r) => r.omega_magnitude), wx: col((r) => r.omega_x), wy: col((r) => r.omega_y), wz: col((r) => r.omega_z),
      },
    };
  }
}

export const REFRESH_INTERVAL_MS = REFRESH_MS;

// Where a recording's frames are read: a worker (recording-worker.js), or the main thread if no
// worker starts. get(req) answers RangeReader.frame's request with the packed frame or null.
function openFrames(base, metadata) {
  try {
    return new WorkerFrames(base, metadata);
  } catch {
    return new MainFrames(base, metadata);
  }
}

class WorkerFrames {
  constructor(base, metadata) {
    this.req = 0;
    this.waiting = new Map(); // req -> { resolve, reject }
    this.where = "worker";
    this.worker = new Worker(new URL("./recording-worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = ({ data }) => {
      const w = this.waiting.get(data.req);
      this.waiting.delete(data.req);
      if (data.error !== undefined) w?.reject(new Error(data.error));
      else w?.resolve(data.packed);
    };
    this.worker.onerror = (ev) => {
      ev.preventDefault?.();
      // The worker did not load (or died): the same reader on the main thread, asked again.
      this.worker.terminate();
      this.fallback = new MainFrames(base, metadata);
      this.where = "main thread";
      for (const w of this.waiting.values()) this.fallback.get(w.q).then(w.resolve, w.reject);
      this.waiting.clear();
    };
    this.worker.postMessage({ open: base, metadata });
  }

  get(q) {
    if (this.fallback) return this.fallback.get(q);
    const req = ++this.req;
    return new Promise((resolve, reject) => {
      this.waiting.set(req, { resolve, reject, q });
      this.worker.postMessage({ get: q, req });
    });
  }

  close() {
    this.worker.terminate();
    for (const w of this.waiting.values()) w.resolve(null);
    this.waiting.clear();
  }
}

class MainFrames {
  constructor(base, metadata) {
    this.reader = new RangeReader(base);
    this.reader.setMetadata(metadata);
    this.where = "main thread";
  }

  async get(q) {
    const r = await this.reader.frame(q);
    return r ? r.packed : null;
  }

  close() {}
}
