// Frames as the page holds them. A 1000-body frame is 230–520 KB of JSON (more with contacts);
// JSON.parse of one took 4–5 ms on the main thread of headless chromium here (measured), a
// quarter to half of the main thread at 60 frames a second. So the socket's worker
// (socket-worker.js) parses each frame and packs it into typed arrays, which it hands over by
// transfer (no copy); the main thread only wraps them.
//
// The packed frame has the fields of the wire frame (`frame_id`, `simulation_time`, `solver`) and
// flat arrays for the hot paths (drawing, overlays, energy); `states` and `collisions` in the
// wire's object form are built on first use (the inspector reads one body through stateOf).

// flags per body
export const ENV = 1;
export const SLEEPING = 2;
export const SLEEP_KNOWN = 4; // the host sent `sleeping` (it is an extension)

const num = (v) => (typeof v === "number" ? v : NaN); // an absent optional number becomes NaN

// One {x, y, z} into a packed array at slot i; xyz (below) reads it back.
const put3 = (a, i, v) => {
  a[3 * i] = v.x;
  a[3 * i + 1] = v.y;
  a[3 * i + 2] = v.z;
};

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
    put3(pos, i, p);
    put3(vel, i, v);
    put3(angvel, i, w);
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
  const frictionVector = new Float64Array(3 * nc); // (ext) the tangent impulse on body B, NaN when absent
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
      const fv = p.friction_impulse_vector;
      frictionVector[3 * k] = num(fv?.x);
      frictionVector[3 * k + 1] = num(fv?.y);
      frictionVector[3 * k + 2] = num(fv?.z);
      k++;
    }
  });
  colStart[cols.length] = k;
  const packed = {
    frame_id: d.frame_id, simulation_time: d.simulation_time, solver: d.solver ?? null,
    n, ids, flags, assets, pos, vel, angvel, quat,
    ncol: cols.length, colBodies, colNormal, colDepth, colStart, points, depth, normalImpulse, frictionImpulse, frictionVector,
  };
  const transfer = [ids, flags, assets, pos, vel, angvel, quat, colBodies, colNormal, colDepth, colStart, points, depth, normalImpulse, frictionImpulse, frictionVector].map((a) => a.buffer);
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
          if (this.frictionVector && !Number.isNaN(this.frictionVector[3 * k])) c.friction_impulse_vector = xyz(this.frictionVector, k);
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

  // The contact points touching a body, as the inspector lists them: the impulses on that body
  // (the wire's are on body B; a body that is A of its pair gets them negated), world N·s.
  contactsFor(bodyId) {
    const out = [];
    for (let j = 0; j < this.ncol; j++) {
      const a = this.colBodies[2 * j], b = this.colBodies[2 * j + 1];
      if (a !== bodyId && b !== bodyId) continue;
      const sign = b === bodyId ? 1 : -1;
      for (let k = this.colStart[j]; k < this.colStart[j + 1]; k++) {
        const p = this.points;
        const fv = this.frictionVector;
        const hasVec = fv && !Number.isNaN(fv[3 * k]);
        out.push({
          other: b === bodyId ? a : b,
          point: { x: (p[6 * k] + p[6 * k + 3]) / 2, y: (p[6 * k + 1] + p[6 * k + 4]) / 2, z: (p[6 * k + 2] + p[6 * k + 5]) / 2 },
          normal: { x: sign * this.colNormal[3 * j], y: sign * this.colNormal[3 * j + 1], z: sign * this.colNormal[3 * j + 2] },
          normalImpulse: this.normalImpulse[k],
          frictionImpulse: this.frictionImpulse[k],
          frictionVector: hasVec ? { x: sign * fv[3 * k], y: sign * fv[3 * k + 1], z: sign * fv[3 * k + 2] } : null,
        });
      }
    }
    return out;
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

const FRAME_PREFIX = '{"type":"frame"'; // how the host writes a frame; anything else is passed on in order
const MAX_UNACKED = 2; // decoded frames the page has not taken yet; past that only the newest waits

/**
 * Where the socket's messages leave the worker (socket-worker.js) for the page: each is decoded
 * and posted in arrival order. The page acknowledges every frame it takes; while it has two
 * unacknowledged (its main thread is busy, say, waiting for a slow rasteriser), the newest frame
 * waits here decoded, replacing older ones (counted in `coalesced`; each was kept in the history): the page only ever
 * shows the newest frame, and the socket is still read at the host's pace, so no backlog builds
 * up anywhere and the view shows the host's present, not a queue of the past. Messages that are
 * not frames are never dropped and never overtake a frame.
 */
export class FrameOutbox {
  constructor(post, keep = null) {
    this.post = post; // (message, transfer) => void
    this.keep = keep; // (packed) => void: sees every decoded frame (the history)
    this.extra = null; // () => object merged into each frame message (the history's range)
    this.unacked = 0;
    this.pending = null;
    this.coalesced = 0;
  }

  push(text) {
    if (typeof text !== "string") {
      this.flush();
      this.post({ error: "the server sent a binary message" }, []);
      return;
    }
    if (!text.startsWith(FRAME_PREFIX)) {
      this.flush();
      this.post(decode(text), []);
      return;
    }
    // Every frame is decoded as it arrives, so the history (history.js) holds each one, not only
    // those the page had time to take.
    const r = decode(text);
    if (r.packed) this.keep?.(r.packed);
    if (r.packed && this.unacked >= MAX_UNACKED) {
      if (this.pending !== null) this.coalesced++;
      this.pending = r;
      return;
    }
    this.flush();
    this.deliver(r);
  }

  ack() {
    this.unacked = Math.max(0, this.unacked - 1);
    if (this.pending !== null && this.unacked < MAX_UNACKED) this.flush();
  }

  // Sends the waiting frame, if any (before anything that must follow it).
  flush() {
    if (this.pending === null) return;
    const r = this.pending;
    this.pending = null;
    this.deliver(r);
  }

  deliver(r) {
    if (r.packed) {
      this.unacked++;
      this.post({ packed: r.packed, coalesced: this.coalesced, ...this.extra?.() }, r.transfer);
    } else {
      this.post(r, []);
    }
  }
}
