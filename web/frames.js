// Frames off the main thread. A 1000-body frame is 230–520 KB of JSON (more with contacts) and
// JSON.parse of one took 4–5 ms on the main thread of headless chromium here (measured): at 60
// frames a second that is a quarter to half of the page's time, taken from drawing. So a worker
// (decoder.js) parses each frame and packs it into typed arrays, which it hands over by transfer
// (no copy); the main thread only wraps them. Messages keep their order through the worker, so a
// `complete` is never handled before the frames sent ahead of it.
//
// The packed frame has the fields of the wire frame (`frame_id`, `simulation_time`, `solver`) and
// flat arrays for the hot paths (drawing, overlays, energy); `states` and `collisions` in the
// wire's object form are built on first use (the inspector reads one body through stateOf).

// flags per body
export const ENV = 1;
export const SLEEPING = 2;
export const SLEEP_KNOWN = 4; // the host sent `sleeping` (it is an extension)

const num = (v) => (typeof v === "number" ? v : NaN); // an absent optional number becomes NaN

// Wire `frame.data` (parsed) -> a plain object of typed arrays; the buffers are listed for transfer.
export function packFrame(d) {
  const states = Array.isArray(d.states) ? d.states : [];
  const n = states.length;
  const ids = new Int32Array(n), flags = new Uint8Array(n), assets = new Int32Array(n);
  const pos = new Float64Array(3 * n), vel = new Float64Array(3 * n), angvel = new Float64Array(3 * n);
  const quat = new Float64Array(4 * n); // w, x, y, z as on the wire
  for (let i = 0; i < n; i++) {
    const s = states[i];
    ids[i] = s.body_id;
    assets[i] = s.asset_id;
    flags[i] = (s.is_environment ? ENV : 0) | (s.sleeping === true ? SLEEPING : 0) | (typeof s.sleeping === "boolean" ? SLEEP_KNOWN : 0);
    const p = s.position, v = s.velocity, w = s.angular_velocity, q = s.orientation;
    pos[3 * i] = p.x;
    pos[3 * i + 1] = p.y;
    pos[3 * i + 2] = p.z;
    vel[3 * i] = v.x;
    vel[3 * i + 1] = v.y;
    vel[3 * i + 2] = v.z;
    angvel[3 * i] = w.x;
    angvel[3 * i + 1] = w.y;
    angvel[3 * i + 2] = w.z;
    quat[4 * i] = q.w;
    quat[4 * i + 1] = q.x;
    quat[4 * i + 2] = q.y;
    quat[4 * i + 3] = q.z;
  }
  const cols = Array.isArray(d.collisions) ? d.collisions : [];
  let nc = 0;
  for (const c of cols) nc += c.contacts.length;
  const colBodies = new Int32Array(2 * cols.length), colNormal = new Float64Array(3 * cols.length);
  const colDepth = new Float64Array(cols.length), colStart = new Int32Array(cols.length + 1);
  const points = new Float64Array(6 * nc), depth = new Float64Array(nc);
  const normalImpulse = new Float64Array(nc), frictionImpulse = new Float64Array(nc);
  let k = 0;
  cols.forEach((c, j) => {
    colBodies[2 * j] = c.body_a_id;
    colBodies[2 * j + 1] = c.body_b_id;
    colNormal[3 * j] = c.normal.x;
    colNormal[3 * j + 1] = c.normal.y;
    colNormal[3 * j + 2] = c.normal.z;
    colDepth[j] = c.penetration_depth;
    colStart[j] = k;
    for (const p of c.contacts) {
      points[6 * k] = p.point_a.x;
      points[6 * k + 1] = p.point_a.y;
      points[6 * k + 2] = p.point_a.z;
      points[6 * k + 3] = p.point_b.x;
      points[6 * k + 4] = p.point_b.y;
      points[6 * k + 5] = p.point_b.z;
      depth[k] = p.depth;
      normalImpulse[k] = num(p.normal_impulse);
      frictionImpulse[k] = num(p.friction_impulse);
      k++;
    }
  });
  colStart[cols.length] = k;
  const packed = {
    frame_id: d.frame_id, simulation_time: d.simulation_time, solver: d.solver ?? null,
    n, ids, flags, assets, pos, vel, angvel, quat,
    ncol: cols.length, colBodies, colNormal, colDepth, colStart, points, depth, normalImpulse, frictionImpulse,
  };
  const transfer = [ids, flags, assets, pos, vel, angvel, quat, colBodies, colNormal, colDepth, colStart, points, depth, normalImpulse, frictionImpulse].map((a) => a.buffer);
  return { packed, transfer };
}

const xyz = (a, i) => ({ x: a[3 * i], y: a[3 * i + 1], z: a[3 * i + 2] });

// A packed frame with the wire's object form on demand.
export class Frame {
  constructor(p) {
    Object.assign(this, p);
    this._states = null;
    this._collisions = null;
    this._slot = null;
  }

  // Index of a body in the arrays, or -1. Bodies are usually in body_id order: try that first.
  indexOf(bodyId) {
    if (this.ids[bodyId] === bodyId) return bodyId;
    if (!this._slot) {
      this._slot = new Map();
      for (let i = 0; i < this.n; i++) this._slot.set(this.ids[i], i);
    }
    return this._slot.get(bodyId) ?? -1;
  }

  stateAt(i) {
    const f = this.flags[i];
    const s = {
      body_id: this.ids[i], asset_id: this.assets[i],
      position: xyz(this.pos, i), velocity: xyz(this.vel, i),
      orientation: { w: this.quat[4 * i], x: this.quat[4 * i + 1], y: this.quat[4 * i + 2], z: this.quat[4 * i + 3] },
      angular_velocity: xyz(this.angvel, i), is_environment: (f & ENV) !== 0,
    };
    if (f & SLEEP_KNOWN) s.sleeping = (f & SLEEPING) !== 0;
    return s;
  }

  stateOf(bodyId) {
    const i = this.indexOf(bodyId);
    return i < 0 ? null : this.stateAt(i);
  }

  get states() {
    if (!this._states) this._states = Array.from({ length: this.n }, (_, i) => this.stateAt(i));
    return this._states;
  }

  get collisions() {
    if (!this._collisions) {
      this._collisions = [];
      for (let j = 0; j < this.ncol; j++) {
        const contacts = [];
        for (let k = this.colStart[j]; k < this.colStart[j + 1]; k++) {
          const c = { point_a: xyz(this.points, 2 * k), point_b: xyz(this.points, 2 * k + 1), depth: this.depth[k] };
          if (!Number.isNaN(this.normalImpulse[k])) c.normal_impulse = this.normalImpulse[k];
          if (!Number.isNaN(this.frictionImpulse[k])) c.friction_impulse = this.frictionImpulse[k];
          contacts.push(c);
        }
        this._collisions.push({
          body_a_id: this.colBodies[2 * j], body_b_id: this.colBodies[2 * j + 1],
          normal: xyz(this.colNormal, j), penetration_depth: this.colDepth[j], contacts,
        });
      }
    }
    return this._collisions;
  }

  // Contact points touching a body (the inspector's count).
  contactsOf(bodyId) {
    let count = 0;
    for (let j = 0; j < this.ncol; j++) {
      if (this.colBodies[2 * j] === bodyId || this.colBodies[2 * j + 1] === bodyId) count += this.colStart[j + 1] - this.colStart[j];
    }
    return count;
  }

  // The JSON form the tests and the console see (JSON.stringify of a frame).
  toJSON() {
    return { frame_id: this.frame_id, simulation_time: this.simulation_time, states: this.states, collisions: this.collisions, solver: this.solver };
  }
}

// Wire text -> { msg } for anything but a frame, or { packed, transfer } for a frame; { error }
// when the text is not JSON. Used by the worker, and on the main thread when no worker starts.
export function decode(text) {
  let msg;
  try {
    msg = JSON.parse(text);
  } catch {
    return { error: "the server sent a message that is not JSON" };
  }
  if (msg?.type === "frame" && msg.data && typeof msg.data === "object") {
    try {
      return packFrame(msg.data);
    } catch {
      return { error: "the server sent a frame the page cannot read" };
    }
  }
  return { msg };
}

const MAX_IN_FLIGHT = 2; // one frame being parsed and one waiting in the worker; newer ones wait here
const FRAME_PREFIX = '{"type":"frame"'; // how the host writes a frame; anything else is passed through in order

/**
 * Decodes a socket's messages in a worker, delivering results in arrival order through
 * onResult({ msg } | { packed } | { error }). When frames come faster than the worker parses
 * them, only the newest waiting frame is kept (the view shows the newest anyway) and the others
 * are counted in `coalesced`; messages that are not frames are never dropped. If no worker can
 * start, everything is decoded on the main thread, same results.
 */
export class FrameDecoder {
  constructor(onResult) {
    this.onResult = onResult;
    this.queue = []; // in arrival order: { text, result } sent to the worker, or { fn } to run after them
    this.inFlight = 0;
    this.pending = null; // the newest frame text not yet sent to the worker
    this.coalesced = 0;
    this.worker = null;
    try {
      this.worker = new Worker(new URL("./decoder.js", import.meta.url), { type: "module" });
      this.worker.onmessage = (ev) => this.done(ev.data);
      this.worker.onerror = () => this.fallBack();
    } catch {
      this.worker = null; // decoded on the main thread
    }
  }

  push(text) {
    if (typeof text !== "string") {
      this.after(() => this.onResult({ error: "the server sent a binary message" }));
      return;
    }
    if (!this.worker) {
      this.deliver(decode(text));
      return;
    }
    if (text.startsWith(FRAME_PREFIX) && this.inFlight >= MAX_IN_FLIGHT) {
      if (this.pending !== null) this.coalesced++;
      this.pending = text;
      return;
    }
    this.flushPending();
    this.post(text);
  }

  // Runs fn once everything pushed so far has been delivered.
  after(fn) {
    this.flushPending();
    if (this.queue.length === 0) fn();
    else this.queue.push({ fn });
  }

  post(text) {
    this.queue.push({ text, result: null });
    this.inFlight++;
    this.worker.postMessage(text);
  }

  flushPending() {
    if (this.pending === null) return;
    const text = this.pending;
    this.pending = null;
    if (this.worker) this.post(text);
    else this.deliver(decode(text));
  }

  done(result) {
    this.inFlight--;
    const entry = this.queue.find((e) => e.text !== undefined && e.result === null);
    if (entry) entry.result = result;
    this.drain();
    if (this.pending !== null && this.inFlight < MAX_IN_FLIGHT) this.flushPending();
  }

  drain() {
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (!head.fn && head.result === null) return; // the worker has not answered it yet
      this.queue.shift();
      if (head.fn) head.fn();
      else this.deliver(head.result);
    }
  }

  deliver(result) {
    this.onResult(result);
  }

  // The worker failed (its script did not load, say): decode what it held here, in order.
  fallBack() {
    this.worker?.terminate();
    this.worker = null;
    this.inFlight = 0;
    for (const e of this.queue) if (e.text !== undefined && e.result === null) e.result = decode(e.text);
    this.drain();
    this.flushPending();
  }

  close() {
    this.worker?.terminate();
    this.worker = null;
    this.queue.length = 0;
    this.pending = null;
  }
}
