// Recordings as the page sees them: the list (GET /api/v1/simulations, newest first) and one
// recording as a frame source for the timeline (timeline.js), read through the replay API:
//   /metadata (bodies, run), /assets (render geometry), /frames (ids and times of every frame),
//   /frames/range?start=&count= (frames as JSON, 100 per request at most), /energy (the system's
//   energy per frame), /velocity/{body} (one body's velocity series).
// Frames are fetched in chunks (up to CHUNK) around the cursor and kept (the newest MAX_CHUNKS chunks),
// so scrubbing back and forth over a stretch costs one request per chunk. A recording that is still
// being written is re-read every REFRESH_MS: the timeline grows while the user watches.

import { Frame, packFrame } from "./frames.js";
import { findIndex } from "./history.js";

export const CHUNK = 100; // the host's cap for a JSON range
// A JSON frame is ~200 bytes a body: chunks of at most ~20 000 body-frames (4 MB of JSON, a fifth
// of a second to parse) keep the first frame of a big recording quick to show.
const CHUNK_BODY_FRAMES = 20000;
const MAX_CHUNKS = 40; // 4000 frames of a small scene, 800 of 1000 bodies (~100 KB each unpacked)
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
    this.chunks = new Map(); // chunk index -> Promise of Map(frame_id -> Frame)
    this.chunkSize = Math.max(1, Math.min(CHUNK, Math.floor(CHUNK_BODY_FRAMES / Math.max(1, meta.bodies.length))));
    this.energyRows = null;
  }

  get growing() {
    return this.meta.finished === false;
  }

  setRows(rows) {
    this.ids = Float64Array.from(rows, (r) => r.frame_id);
    this.times = Float64Array.from(rows, (r) => r.simulation_time);
    // The last chunk may have been fetched while shorter: fetch it again.
    const last = Math.floor(Math.max(0, this.ids.length - 1) / this.chunkSize);
    for (const k of this.chunks.keys()) if (k >= last - 1) this.chunks.delete(k);
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

  async get(q) {
    const i = this.find(q);
    if (i < 0) return null;
    const frames = await this.chunk(Math.floor(i / this.chunkSize));
    return frames.get(this.ids[i]) ?? null;
  }

  chunk(k) {
    let p = this.chunks.get(k);
    if (p) {
      this.chunks.delete(k); // most recently used goes last
      this.chunks.set(k, p);
      return p;
    }
    const start = this.ids[k * this.chunkSize];
    p = getJSON(`${this.base}/frames/range?start=${start}&count=${this.chunkSize}`).then((list) => {
      const out = new Map();
      for (const d of list) out.set(d.frame_id, new Frame(packFrame(d).packed));
      return out;
    });
    p.catch(() => this.chunks.delete(k)); // a failed chunk is fetched again next time
    this.chunks.set(k, p);
    while (this.chunks.size > MAX_CHUNKS) this.chunks.delete(this.chunks.keys().next().value);
    return p;
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
