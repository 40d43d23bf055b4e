// Frames as the page holds them. A 1000-body frame is 230–520 KB of JSON (more with contacts);
// JSON.parse of one took 4–5 ms on the main thread of headless chromium here (measured), a
// quarter to half of the main thread at 60 frames a second. So the socket's worker
// (socket-worker.js) parses each frame and packs it into typed arrays, which it hands over by
// transfer (no copy); the main thread only wraps them.
//
// With `start {"encoding": "binary"}` (what the page asks for) a frame is an SHF1 binary message
// (docs/frames.md) instead: the worker reads it through typed-array views on the message's bytes and
// copies the floats into the same packed arrays, with no JSON and no per-body object — a 1000-body frame
// is ~60 KB and a few hundredths of a millisecond to read instead of 230–520 KB and 4–5 ms.
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

// --- SHF1 (docs/frames.md) -----------------------------------------------------------------------

const SHF1_MAGIC = 0x31464853; // "SHF1" read as a little-endian u32
const SHF1_HEADER = 64;
const HAS_VELOCITIES = 1, HAS_CONTACTS = 2, HAS_SOLVER = 4, HAS_FRICTION = 8;

// The body ids of the run's metadata in body order, and their asset ids: a binary frame carries
// ids only, the page's frames also carry asset_id (the inspector shows it).
export class BodyTable {
  constructor() {
    this.ids = new Int32Array(0);
    this.assets = new Int32Array(0);
    this.byId = new Map();
  }

  setMetadata(msg) {
    const bodies = Array.isArray(msg?.bodies) ? msg.bodies : [];
    this.ids = Int32Array.from(bodies, (b) => b.body_id);
    this.assets = Int32Array.from(bodies, (b) => b.asset_id);
    this.byId = new Map(bodies.map((b) => [b.body_id, b.asset_id]));
  }

  assetAt(i, id) {
    return this.ids[i] === id ? this.assets[i] : this.byId.get(id) ?? 0;
  }
}

// Checks the header against the message length (the contract's rules); returns the header or a reason.
function readHeader(buf) {
  const len = buf.byteLength;
  if (len < SHF1_HEADER) return `${len} bytes, shorter than the header`;
  const dv = new DataView(buf);
  if (dv.getUint32(0, true) !== SHF1_MAGIC) return "bad magic";
  const h = {
    version: dv.getUint16(4, true), headerBytes: dv.getUint16(6, true), frameId: dv.getUint32(8, true),
    n: dv.getUint32(12, true), time: dv.getFloat64(16, true), c: dv.getUint32(24, true), flags: dv.getUint32(28, true),
    off: [0, 1, 2, 3, 4, 5].map((i) => dv.getUint32(32 + 4 * i, true)), total: dv.getUint32(56, true),
  };
  h.off.push(dv.getUint32(60, true)); // block 6, friction: its offset is the word after the total
  if (h.version !== 1) return `version ${h.version}`;
  if (h.headerBytes < SHF1_HEADER || h.headerBytes % 8 !== 0) return `header size ${h.headerBytes}`;
  if (h.total !== len) return `header says ${h.total} bytes, the message has ${len}`;
  if (h.flags & ~15) return "unknown flags";
  if (!(h.flags & HAS_CONTACTS) && h.c !== 0) return "contact points without a contacts block";
  if ((h.flags & HAS_FRICTION) && !(h.flags & HAS_CONTACTS)) return "a friction block without a contacts block";
  if (!(h.time >= 0)) return "bad simulation_time";
  const sizes = [4 * h.n, 28 * h.n, h.n, 24 * h.n, 48 * h.c, 24, 12 * h.c];
  const present = [true, true, true, !!(h.flags & HAS_VELOCITIES), !!(h.flags & HAS_CONTACTS), !!(h.flags & HAS_SOLVER),
    !!(h.flags & HAS_FRICTION)];
  for (let i = 0; i < 7; i++) {
    const o = h.off[i];
    if (!present[i]) {
      if (o !== 0) return `block ${i} set but absent`;
      continue;
    }
    if (o % 8 !== 0 || o < h.headerBytes || o + sizes[i] > len) return `block ${i} (${sizes[i]} bytes at ${o}) does not fit`;
    for (let j = 0; j < i; j++) {
      if (present[j] && o < h.off[j] + sizes[j] && h.off[j] < o + sizes[i]) return `blocks ${j} and ${i} overlap`;
    }
  }
  return h;
}

// One SHF1 message (an ArrayBuffer) -> the packed frame (as packFrame), reading through typed-array
// views; { error } when the bytes do not hold a frame.
export function packBinary(buf, bodies = new BodyTable()) {
  const h = readHeader(buf);
  if (typeof h === "string") return { error: `the server sent a binary frame the page cannot read (${h})` };
  const n = h.n;
  const wireIds = new Uint32Array(buf, h.off[0], n), pose = new Float32Array(buf, h.off[1], 7 * n);
  const bflags = new Uint8Array(buf, h.off[2], n);
  const v6 = h.off[3] ? new Float32Array(buf, h.off[3], 6 * n) : null;
  const ids = new Int32Array(n), flags = new Uint8Array(n), assets = new Int32Array(n);
  const pos = new Float64Array(3 * n), vel = new Float64Array(3 * n), angvel = new Float64Array(3 * n);
  const quat = new Float64Array(4 * n); // w, x, y, z as the JSON frames
  for (let i = 0; i < n; i++) {
    const id = wireIds[i];
    ids[i] = id;
    assets[i] = bodies.assetAt(i, id);
    flags[i] = (bflags[i] & 1 ? ENV : 0) | (bflags[i] & 2 ? SLEEPING : 0) | SLEEP_KNOWN;
    const p = 7 * i;
    pos[3 * i] = pose[p];
    pos[3 * i + 1] = pose[p + 1];
    pos[3 * i + 2] = pose[p + 2];
    quat[4 * i] = pose[p + 6];
    quat[4 * i + 1] = pose[p + 3];
    quat[4 * i + 2] = pose[p + 4];
    quat[4 * i + 3] = pose[p + 5];
    if (v6) {
      const v = 6 * i;
      vel[3 * i] = v6[v];
      vel[3 * i + 1] = v6[v + 1];
      vel[3 * i + 2] = v6[v + 2];
      angvel[3 * i] = v6[v + 3];
      angvel[3 * i + 1] = v6[v + 4];
      angvel[3 * i + 2] = v6[v + 5];
    }
  }
  const contacts = packContacts(buf, h);
  let solver = null;
  if (h.off[5]) {
    const dv = new DataView(buf, h.off[5], 24);
    solver = {
      iterations: dv.getUint32(0, true), residual: dv.getFloat32(4, true), converged: dv.getUint32(8, true) === 1,
      num_constraints: dv.getUint32(12, true), num_contacts: dv.getUint32(16, true),
    };
  }
  const packed = { frame_id: h.frameId, simulation_time: h.time, solver, n, ids, flags, assets, pos, vel, angvel, quat, ...contacts };
  const transfer = [ids, flags, assets, pos, vel, angvel, quat, contacts.colBodies, contacts.colNormal, contacts.colDepth,
    contacts.colStart, contacts.points, contacts.depth, contacts.normalImpulse, contacts.frictionImpulse,
    contacts.frictionVector].map((a) => a.buffer);
  return { packed, transfer };
}

// The contact records (one per point) grouped back into collisions: consecutive points of the same
// pair share one (the host writes a manifold's points together). A point's point_a and point_b are
// both the record's point (the midpoint; the overlay draws the midpoint either way). frictionVector comes
// from the friction block (flag bit 3), NaN in frames without it, as for a JSON point without the field.
function packContacts(buf, h) {
  const c = h.c;
  const u = new Uint32Array(buf, h.off[4] || h.headerBytes, h.off[4] ? 12 * c : 0);
  const f = new Float32Array(buf, h.off[4] || h.headerBytes, h.off[4] ? 12 * c : 0);
  let ncol = 0;
  for (let k = 0; k < c; k++) if (k === 0 || u[12 * k] !== u[12 * k - 12] || u[12 * k + 1] !== u[12 * k - 11]) ncol++;
  const colBodies = new Int32Array(2 * ncol), colNormal = new Float64Array(3 * ncol);
  const colDepth = new Float64Array(ncol), colStart = new Int32Array(ncol + 1);
  const points = new Float64Array(6 * c), depth = new Float64Array(c);
  const normalImpulse = new Float64Array(c), frictionImpulse = new Float64Array(c);
  const frictionVector = new Float64Array(3 * c);
  if (h.off[6]) frictionVector.set(new Float32Array(buf, h.off[6], 3 * c));
  else frictionVector.fill(NaN);
  let j = -1;
  for (let k = 0; k < c; k++) {
    const r = 12 * k;
    if (k === 0 || u[r] !== u[r - 12] || u[r + 1] !== u[r - 11]) {
      j++;
      colBodies[2 * j] = u[r];
      colBodies[2 * j + 1] = u[r + 1];
      colNormal[3 * j] = f[r + 5];
      colNormal[3 * j + 1] = f[r + 6];
      colNormal[3 * j + 2] = f[r + 7];
      colStart[j] = k;
    }
    for (let a = 0; a < 3; a++) points[6 * k + a] = points[6 * k + 3 + a] = f[r + 2 + a];
    depth[k] = f[r + 8];
    if (f[r + 8] > colDepth[j]) colDepth[j] = f[r + 8];
    normalImpulse[k] = f[r + 9];
    frictionImpulse[k] = f[r + 10];
  }
  colStart[ncol] = c;
  return { ncol, colBodies, colNormal, colDepth, colStart, points, depth, normalImpulse, frictionImpulse, frictionVector };
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

// A wire message -> { msg } for anything but a frame, or { packed, transfer } for a frame (JSON text
// or an SHF1 ArrayBuffer); { error } when it cannot be read. `bodies` learns the run's metadata from
// the text messages, for the binary frames' asset ids. Used by the worker, and on the main thread
// when no worker starts.
export function decode(text, bodies = null) {
  if (text instanceof ArrayBuffer) return packBinary(text, bodies ?? undefined);
  if (typeof text !== "string") return { error: "the server sent a message the page cannot read" };
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
  if (msg?.type === "metadata") bodies?.setMetadata(msg);
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
 * not frames are never dropped and never overtake a frame. Binary (SHF1) frames go the same way.
 * Each frame carries `decodeMs`, the time its decoding took here (the page reports it).
 */
export class FrameOutbox {
  constructor(post, keep = null) {
    this.post = post; // (message, transfer) => void
    this.keep = keep; // (packed) => void: sees every decoded frame (the history)
    this.extra = null; // () => object merged into each frame message (the history's range)
    this.unacked = 0;
    this.pending = null;
    this.coalesced = 0;
    this.bodies = new BodyTable();
  }

  push(text) {
    const isFrame = text instanceof ArrayBuffer || (typeof text === "string" && text.startsWith(FRAME_PREFIX));
    // Every message is decoded as it arrives (metadata fills the body table binary frames are read
    // against), and every frame with it, so the history (history.js) holds each one, not only those
    // the page had time to take.
    const t0 = performance.now();
    const r = decode(text, this.bodies);
    if (!isFrame) {
      this.flush();
      this.post(r, []);
      return;
    }
    if (r.packed) {
      r.packed.decodeMs = performance.now() - t0;
      this.keep?.(r.packed);
    }
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
