// The frames of a live run already received, kept so the user can pause the view and scrub back
// while the host goes on (the timeline, timeline.js). It lives where the frames are decoded: in the
// socket's worker (socket-worker.js), or on the main thread when no worker starts.
//
// Bound: the newest frames up to HISTORY_BYTES (128 MiB) of stored arrays, and at most
// HISTORY_FRAMES (36 000 = 10 minutes at 60 frames a second). Bytes, not seconds, because what a
// frame costs varies 100-fold: a stored frame of 1000 bodies is about 60 KB (positions, rotations
// and velocities kept as float32, the precision the binary wire frame has; a binary frame is kept
// as its message), so the budget holds about 2 000 of them (35 s at 60 Hz, less when a pile adds
// contacts), while a 10-body run keeps the whole 10 minutes in 6 MB. 128 MiB is a tab's worth that a
// laptop does not notice; the frame cap keeps the frame-id index small for tiny scenes.
//
// Queries find frames by frame_id or by simulation time (binary search: both grow with the index),
// so the page never holds indices that shift when the oldest frames are dropped.

export const HISTORY_BYTES = 128 * 1024 * 1024;
export const HISTORY_FRAMES = 36000;

const F32 = ["pose", "velocity", "rec", "friction", "pointsAB", "colDepth", "colNormal"];

// A stored copy of a packed frame (frames.js). A binary frame's arrays are views on its message
// (`wire`): the copy is one copy of the message with the same views on it, its floats float32 as they
// came (0.17 ms for a 1000-body frame with 4000 contact points in Chromium's worker, against 0.44 ms
// for copying array by array; spec/bench/worker_decode.mjs). A JSON frame's float64 arrays are
// narrowed to float32, the precision the binary frame has.
export function compact(packed) {
  const out = { ...packed };
  const wire = packed.wire ?? null, copy = wire ? wire.slice(0) : null;
  if (copy) out.wire = copy;
  let bytes = 256 + (copy ? copy.byteLength : 0);
  for (const [k, v] of Object.entries(packed)) {
    if (!ArrayBuffer.isView(v)) continue;
    if (copy && v.buffer === wire) {
      out[k] = new v.constructor(copy, v.byteOffset, v.length);
      continue;
    }
    out[k] = F32.includes(k) && v instanceof Float64Array ? new Float32Array(v) : v.slice();
    bytes += out[k].byteLength;
  }
  return { frame: out, bytes };
}

// First index in 0..n whose key(i) is >= v (n when none); keys grow with the index.
function lowerBound(n, key, v) {
  let lo = 0, hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(mid) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Index of a query among n frames (ids and times growing with the index), or -1 when n is 0:
//   {first} | {last} | {id, offset?} (the frame with that id, or the next one, then `offset`
//   frames on, clamped) | {time} (the frame nearest to that simulation time).
// The live history and a recording (recording.js) answer the timeline's queries with it.
export function findIndex(n, idAt, timeAt, q) {
  if (n === 0) return -1;
  let i;
  if (q.first) i = 0;
  else if (q.last) i = n - 1;
  else if (Number.isFinite(q.id)) i = Math.min(lowerBound(n, idAt, q.id), n - 1) + (q.offset | 0);
  else if (Number.isFinite(q.time)) {
    i = lowerBound(n, timeAt, q.time);
    if (i >= n) i = n - 1;
    else if (i > 0 && q.time - timeAt(i - 1) < timeAt(i) - q.time) i--;
  } else return -1;
  return Math.max(0, Math.min(n - 1, i));
}

export class FrameHistory {
  constructor(maxBytes = HISTORY_BYTES, maxFrames = HISTORY_FRAMES) {
    this.maxBytes = maxBytes;
    this.maxFrames = maxFrames;
    this.clear();
  }

  clear() {
    this.frames = [];
    this.sizes = [];
    this.start = 0; // frames[0 .. start) were dropped (compacted away in batches)
    this.bytes = 0;
    this.dropped = 0; // frames dropped for the bound, over the run
  }

  get count() {
    return this.frames.length - this.start;
  }

  at(i) {
    return i >= 0 && i < this.count ? this.frames[this.start + i] : null;
  }

  add(packed) {
    const last = this.at(this.count - 1);
    if (last && packed.frame_id <= last.frame_id) return; // never out of order (a resent frame)
    const { frame, bytes } = compact(packed);
    this.frames.push(frame);
    this.sizes.push(bytes);
    this.bytes += bytes;
    while (this.count > 1 && (this.bytes > this.maxBytes || this.count > this.maxFrames)) {
      this.bytes -= this.sizes[this.start];
      this.frames[this.start] = this.sizes[this.start] = null;
      this.start++;
      this.dropped++;
    }
    if (this.start > 1024 && this.start * 2 > this.frames.length) {
      this.frames = this.frames.slice(this.start);
      this.sizes = this.sizes.slice(this.start);
      this.start = 0;
    }
  }

  // Index of a query (findIndex below), or -1 when empty.
  find(q) {
    return findIndex(this.count, (i) => this.at(i).frame_id, (i) => this.at(i).simulation_time, q);
  }

  get(q) {
    const i = this.find(q);
    return i < 0 ? null : this.at(i);
  }

  // One body's velocity and angular velocity over the history (the plots of a newly selected body):
  // { t, values: {speed, vx, vy, vz, spin, wx, wy, wz} } as typed arrays, frames without it skipped.
  bodySeries(bodyId) {
    const n = this.count;
    const t = new Float64Array(n);
    const keys = ["speed", "vx", "vy", "vz", "spin", "wx", "wy", "wz"];
    const values = Object.fromEntries(keys.map((k) => [k, new Float32Array(n)]));
    let m = 0;
    for (let i = 0; i < n; i++) {
      const f = this.at(i);
      let j = f.ids[bodyId] === bodyId ? bodyId : -1;
      if (j < 0) j = f.ids.indexOf(bodyId);
      if (j < 0) continue;
      const v = f.velocity, o = 6 * j;
      const vx = v[o], vy = v[o + 1], vz = v[o + 2], wx = v[o + 3], wy = v[o + 4], wz = v[o + 5];
      t[m] = f.simulation_time;
      values.vx[m] = vx;
      values.vy[m] = vy;
      values.vz[m] = vz;
      values.speed[m] = Math.hypot(vx, vy, vz);
      values.wx[m] = wx;
      values.wy[m] = wy;
      values.wz[m] = wz;
      values.spin[m] = Math.hypot(wx, wy, wz);
      m++;
    }
    return { t: t.subarray(0, m), values: Object.fromEntries(keys.map((k) => [k, values[k].subarray(0, m)])) };
  }

  // A query's answer: a frame (see find), or with {series: bodyId} a body's series.
  answer(q) {
    return Number.isInteger(q.series) ? this.bodySeries(q.series) : this.get(q);
  }

  // What the timeline shows: the span held.
  range() {
    const n = this.count;
    if (n === 0) return { count: 0, bytes: 0, dropped: this.dropped };
    const a = this.at(0), b = this.at(n - 1);
    return { count: n, firstId: a.frame_id, lastId: b.frame_id, t0: a.simulation_time, t1: b.simulation_time, bytes: this.bytes, dropped: this.dropped };
  }
}
