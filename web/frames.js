// Frames as the page holds them. A 1000-body frame is 230–520 KB of JSON (more with contacts);
// JSON.parse of one took 4–5 ms on the main thread of headless chromium here (measured), a
// quarter to half of the main thread at 60 frames a second. So the socket's worker
// (socket-worker.js) parses each frame and packs it into typed arrays, which it hands over by
// transfer (no copy); the main thread only wraps them.
//
// With `start {"encoding": "binary"}` (what the page asks for) a frame is an SHF1 binary message
// (docs/frames.md) instead, and the packed frame *is* the message: its arrays are typed-array views
// on the message's own bytes (`wire`), in the wire's layout, handed to the page with the message by
// transfer. Reading a frame is then the header check, a handful of views and the collisions'
// grouping: 0.055 ms for 1000 bodies with 4000 contact points in Chromium's worker
// (spec/bench/worker_decode.mjs). Copying it into arrays of the page's own layout, as this reader
// did first, cost 0.35–0.57 ms, nearly all of it writing ~540 KB into memory new to each frame (the
// same bytes into reused arrays: 0.015 ms); the message's bytes are already there.
//
// The packed frame has the fields of the wire frame (`frame_id`, `simulation_time`, `solver`) and
// flat arrays in the SHF1 layout for the hot paths (drawing, overlays, energy), the same for both
// encodings (a JSON frame is packed into float64 arrays of that layout):
//   ids[i], flags[i] (ENV, SLEEPING, SLEEP_KNOWN; `sleepKnown`: every body's is known), assets[i]
//   pose[7i..7i+6]       px py pz qx qy qz qw
//   velocity[6i..6i+5]   vx vy vz wx wy wz
//   rec[12k..12k+11]     contact point k as the wire's 48-byte record, read as floats: point at
//                        2..4, normal (of its collision) at 5..7, depth 8, normal_impulse 9,
//                        friction_impulse 10 (NaN when the JSON point has none); words 0, 1
//                        (the body ids) are read through colBodies instead
//   friction[3k..3k+2]   the point's friction impulse vector on body B, or null (none on the wire)
//   ncol, colBodies[2j..2j+1], colStart[j] (first point of collision j; colStart[ncol] = points)
//   JSON only (SHF1 does not carry them): pointsAB[6k..6k+5] (point_a, point_b; rec's point is their
//                        midpoint), colDepth[j] and colNormal[3j..3j+2] (a collision may have no points)
// `states` and `collisions` in the wire's object form are built on first use (the inspector reads
// one body through stateOf).

// flags per body: the SHF1 body flags' bits, and for JSON frames one of the page's own
export const ENV = 1;
export const SLEEPING = 2;
export const SLEEP_KNOWN = 4; // (JSON) the host sent this body's `sleeping` (an extension); SHF1 always has it

const num = (v) => (typeof v === "number" ? v : NaN); // an absent optional number becomes NaN

// One {x, y, z} into a packed array at index o.
const put3 = (a, o, v) => {
  a[o] = v.x;
  a[o + 1] = v.y;
  a[o + 2] = v.z;
};

// Consecutive contact records of the same pair form one collision (the host writes a manifold's
// points together): colBodies and colStart from the body ids in words 0 and 1 of each record.
function groupRecords(words, c) {
  const newPair = (k) => k === 0 || words[12 * k] !== words[12 * k - 12] || words[12 * k + 1] !== words[12 * k - 11];
  let ncol = 0;
  for (let k = 0; k < c; k++) if (newPair(k)) ncol++;
  const colBodies = new Int32Array(2 * ncol), colStart = new Int32Array(ncol + 1);
  for (let k = 0, j = 0; k < c; k++) {
    if (!newPair(k)) continue;
    colBodies[2 * j] = words[12 * k];
    colBodies[2 * j + 1] = words[12 * k + 1];
    colStart[j++] = k;
  }
  colStart[ncol] = c;
  return { ncol, colBodies, colStart };
}

// Wire `frame.data` (parsed) -> the packed frame (float64 arrays in the SHF1 layout); the buffers are
// listed for transfer.
export function packFrame(d) {
  const states = Array.isArray(d.states) ? d.states : [];
  const n = states.length;
  const ids = new Int32Array(n), flags = new Uint8Array(n), assets = new Int32Array(n);
  const pose = new Float64Array(7 * n), velocity = new Float64Array(6 * n);
  for (let i = 0; i < n; i++) {
    const s = states[i];
    ids[i] = s.body_id;
    assets[i] = s.asset_id;
    flags[i] = (s.is_environment ? ENV : 0) | (s.sleeping === true ? SLEEPING : 0) | (typeof s.sleeping === "boolean" ? SLEEP_KNOWN : 0);
    const p = s.position, v = s.velocity, w = s.angular_velocity, q = s.orientation;
    put3(pose, 7 * i, p);
    put3(pose, 7 * i + 3, q);
    pose[7 * i + 6] = q.w;
    put3(velocity, 6 * i, v);
    put3(velocity, 6 * i + 3, w);
  }
  const cols = Array.isArray(d.collisions) ? d.collisions : [];
  let c = 0;
  for (const col of cols) c += col.contacts.length;
  // Grouped by collision, not by pair: two JSON collisions of the same pair stay two.
  const ncol = cols.length, colBodies = new Int32Array(2 * ncol), colStart = new Int32Array(ncol + 1);
  const colDepth = new Float64Array(ncol), colNormal = new Float64Array(3 * ncol);
  const rec = new Float64Array(12 * c), pointsAB = new Float64Array(6 * c), friction = new Float64Array(3 * c);
  let k = 0;
  cols.forEach((col, j) => {
    colBodies[2 * j] = col.body_a_id;
    colBodies[2 * j + 1] = col.body_b_id;
    colDepth[j] = col.penetration_depth;
    put3(colNormal, 3 * j, col.normal);
    colStart[j] = k;
    for (const p of col.contacts) {
      const a = p.point_a, b = p.point_b, r = 12 * k, fv = p.friction_impulse_vector;
      put3(pointsAB, 6 * k, a);
      put3(pointsAB, 6 * k + 3, b);
      rec[r + 2] = (a.x + b.x) / 2;
      rec[r + 3] = (a.y + b.y) / 2;
      rec[r + 4] = (a.z + b.z) / 2;
      put3(rec, r + 5, col.normal);
      rec[r + 8] = p.depth;
      rec[r + 9] = num(p.normal_impulse);
      rec[r + 10] = num(p.friction_impulse);
      friction[3 * k] = num(fv?.x);
      friction[3 * k + 1] = num(fv?.y);
      friction[3 * k + 2] = num(fv?.z);
      k++;
    }
  });
  colStart[ncol] = c;
  const packed = {
    frame_id: d.frame_id, simulation_time: d.simulation_time, solver: d.solver ?? null,
    n, ids, flags, sleepKnown: false, assets, pose, velocity, ncol, colBodies, colStart, colDepth, colNormal, rec, pointsAB, friction,
  };
  const transfer = [ids, flags, assets, pose, velocity, colBodies, colStart, colDepth, colNormal, rec, pointsAB, friction].map((a) => a.buffer);
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

  // The asset id of each body of a frame's ids (0 for a body the metadata did not name).
  assetsFor(ids) {
    const out = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = this.assetAt(i, ids[i]);
    return out;
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

// One SHF1 message (an ArrayBuffer) -> the packed frame: views on the message's blocks (the packed
// layout is the wire's), plus the few arrays a frame does not carry (asset ids, the collisions'
// grouping); { error } when the bytes do not hold a frame. The message goes to the page with the
// frame (it is in the transfer list), so nothing here may keep it.
export function packBinary(buf, bodies = new BodyTable()) {
  const h = readHeader(buf);
  if (typeof h === "string") return { error: `the server sent a binary frame the page cannot read (${h})` };
  const n = h.n, c = h.off[4] ? h.c : 0;
  const ids = new Uint32Array(buf, h.off[0], n), pose = new Float32Array(buf, h.off[1], 7 * n);
  const flags = new Uint8Array(buf, h.off[2], n);
  // Live frames always carry velocities; a frame without them reads as at rest.
  const velocity = h.off[3] ? new Float32Array(buf, h.off[3], 6 * n) : new Float32Array(6 * n);
  const rec = new Float32Array(buf, h.off[4] || h.headerBytes, 12 * c);
  const words = new Uint32Array(buf, h.off[4] || h.headerBytes, 12 * c);
  const friction = h.off[6] ? new Float32Array(buf, h.off[6], 3 * c) : null;
  const { ncol, colBodies, colStart } = groupRecords(words, c);
  let solver = null;
  if (h.off[5]) {
    const dv = new DataView(buf, h.off[5], 24);
    solver = {
      iterations: dv.getUint32(0, true), residual: dv.getFloat32(4, true), converged: dv.getUint32(8, true) === 1,
      num_constraints: dv.getUint32(12, true), num_contacts: dv.getUint32(16, true),
    };
  }
  const assets = bodies.assetsFor(ids);
  const packed = {
    frame_id: h.frameId, simulation_time: h.time, solver, n, ids, flags, sleepKnown: true, assets, pose, velocity,
    ncol, colBodies, colStart, rec, friction, wire: buf,
  };
  const transfer = [buf, assets.buffer, colBodies.buffer, colStart.buffer];
  if (!h.off[3]) transfer.push(velocity.buffer);
  return { packed, transfer };
}

const xyz = (a, o) => ({ x: a[o], y: a[o + 1], z: a[o + 2] });

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
    const p = this.pose, v = this.velocity, o = 7 * i;
    const s = {
      body_id: this.ids[i], asset_id: this.assets[i],
      position: xyz(p, o), velocity: xyz(v, 6 * i),
      orientation: { w: p[o + 6], x: p[o + 3], y: p[o + 4], z: p[o + 5] },
      angular_velocity: xyz(v, 6 * i + 3), is_environment: (this.flags[i] & ENV) !== 0,
    };
    if (this.sleepKnown || this.flags[i] & SLEEP_KNOWN) s.sleeping = (this.flags[i] & SLEEPING) !== 0;
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

  // A collision's penetration depth: the JSON's, or (binary) the deepest of its points.
  depthOf(j) {
    if (this.colDepth) return this.colDepth[j];
    let d = 0;
    for (let k = this.colStart[j]; k < this.colStart[j + 1]; k++) d = Math.max(d, this.rec[12 * k + 8]);
    return d;
  }

  get collisions() {
    if (!this._collisions) {
      this._collisions = [];
      const r = this.rec, fv = this.friction;
      for (let j = 0; j < this.ncol; j++) {
        const contacts = [];
        for (let k = this.colStart[j]; k < this.colStart[j + 1]; k++) {
          const ab = this.pointsAB;
          const c = { point_a: xyz(ab ?? r, ab ? 6 * k : 12 * k + 2), point_b: xyz(ab ?? r, ab ? 6 * k + 3 : 12 * k + 2), depth: r[12 * k + 8] };
          if (!Number.isNaN(r[12 * k + 9])) c.normal_impulse = r[12 * k + 9];
          if (!Number.isNaN(r[12 * k + 10])) c.friction_impulse = r[12 * k + 10];
          if (fv && !Number.isNaN(fv[3 * k])) c.friction_impulse_vector = xyz(fv, 3 * k);
          contacts.push(c);
        }
        this._collisions.push({
          body_a_id: this.colBodies[2 * j], body_b_id: this.colBodies[2 * j + 1],
          normal: this.colNormal ? xyz(this.colNormal, 3 * j) : xyz(r, 12 * this.colStart[j] + 5), penetration_depth: this.depthOf(j), contacts,
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
    const r = this.rec, fv = this.friction;
    for (let j = 0; j < this.ncol; j++) {
      const a = this.colBodies[2 * j], b = this.colBodies[2 * j + 1];
      if (a !== bodyId && b !== bodyId) continue;
      const sign = b === bodyId ? 1 : -1;
      for (let k = this.colStart[j]; k < this.colStart[j + 1]; k++) {
        const o = 12 * k;
        const hasVec = fv && !Number.isNaN(fv[3 * k]);
        out.push({
          other: b === bodyId ? a : b,
          point: xyz(r, o + 2),
          normal: { x: sign * r[o + 5], y: sign * r[o + 6], z: sign * r[o + 7] },
          normalImpulse: r[o + 9],
          frictionImpulse: r[o + 10],
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
