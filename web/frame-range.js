// A recording's frames as the page reads them: `frames.bin` ranges (docs/recordings.md), the SHF1
// frames (docs/frames.md) back to back, each preceded by its u32 (LE) length. They are split and
// decoded where the range reader lives — the recording's worker (recording-worker.js), or the main
// thread when no worker starts — through typed-array views (frames.js packBinary), with no JSON and
// no per-body object. The main thread only wraps the packed arrays it is handed (by transfer).
//
// Why: a JSON range of 1000-body frames is ~150 kB a frame to parse on the main thread (100 of them
// took most of a second there, in one piece); the same frame in SHF1 is ~57 kB and reads in a few
// hundredths of a millisecond. The raw ranges are kept (at most CACHE_BYTES) and a frame is decoded
// when asked for, so each answer owns fresh arrays it can hand over without a copy.

import { BodyTable, packBinary } from "./frames.js";

export const RANGE_CAP = 1000; // the host's cap on `count` for frames.bin
// Frames per range: about RANGE_BODY_FRAMES body-frames (1.5 MB of SHF1; 50 frames of 1000 bodies,
// ~75 ms for the host to read from its file as measured in docs/recordings.md), at most RANGE_CAP.
const RANGE_BODY_FRAMES = 50000;
// Raw ranges kept: 64 MiB is ~1100 frames of 1000 bodies, the whole of a small scene's recording.
const CACHE_BYTES = 64 * 1024 * 1024;

const SHF1_MAGIC = 0x31464853; // "SHF1" read as a little-endian u32
const SHF1_HEADER = 64;

export function rangeCount(bodies) {
  return Math.max(1, Math.min(RANGE_CAP, Math.floor(RANGE_BODY_FRAMES / Math.max(1, bodies))));
}

// Splits one frames.bin answer (an ArrayBuffer) into its frames, without copying:
// { frames: [{ id, time, begin, end }] } (byte spans of each SHF1 frame), or { error } saying where
// the bytes stop making sense. Each frame's own header is checked when it is decoded (packBinary).
export function splitRange(buf) {
  if (!(buf instanceof ArrayBuffer)) return { error: "a frame range is not binary" };
  const dv = new DataView(buf);
  const len = buf.byteLength;
  const frames = [];
  for (let at = 0; at < len; ) {
    const k = frames.length;
    if (len - at < 4) return { error: `frame ${k} of the range: ${len - at} bytes left, too few for its length` };
    const n = dv.getUint32(at, true);
    const begin = at + 4;
    if (n < SHF1_HEADER || n > len - begin) return { error: `frame ${k} of the range: its length says ${n} bytes, ${len - begin} are left` };
    if (dv.getUint32(begin, true) !== SHF1_MAGIC) return { error: `frame ${k} of the range is not an SHF1 frame` };
    frames.push({ id: dv.getUint32(begin + 8, true), time: dv.getFloat64(begin + 16, true), begin, end: begin + n });
    at = begin + n;
  }
  return { frames };
}

// One frame of a split range, decoded. The bytes are copied out first: in the range a frame starts 4
// bytes past a length, so its float blocks are not where typed-array views may begin.
export function decodeAt(buf, f, bodies) {
  return packBinary(buf.slice(f.begin, f.end), bodies);
}

// A whole range decoded (the tests' form): { frames: [packed] } or { error }.
export function decodeRange(buf, bodies = new BodyTable()) {
  const s = splitRange(buf);
  if (s.error) return s;
  const frames = [];
  for (const f of s.frames) {
    const r = decodeAt(buf, f, bodies);
    if (r.error) return { error: `frame ${f.id} of the range: ${r.error}` };
    frames.push(r.packed);
  }
  return { frames };
}

async function fetchRange(url) {
  let res;
  try {
    res = await fetch(url);
  } catch {
    throw new Error("the host does not answer (is simhost serve still running?)");
  }
  if (!res.ok) {
    let body = null;
    try {
      body = await res.json();
    } catch {
      // not JSON: reported by status
    }
    throw new Error(body?.error ?? `HTTP ${res.status} for a frame range`);
  }
  return res.arrayBuffer();
}

/**
 * The frames of one recording, read through frames.bin ranges: frame({ start, count, id, next })
 * answers the frame `id` of the range that starts at frame `start` (the range is fetched once and
 * kept), and fetches the range starting at `next` ahead (where the cursor goes next).
 */
export class RangeReader {
  constructor(base, get = fetchRange) {
    this.base = base;
    this.get = get; // url -> Promise of ArrayBuffer
    this.bodies = new BodyTable();
    this.ranges = new Map(); // start -> Promise of { buf, frames, byId, count }, oldest used first
    this.sizes = new Map(); // start -> bytes, of the ranges that arrived
    this.bytes = 0;
  }

  setMetadata(meta) {
    this.bodies.setMetadata(meta);
  }

  range(start, count) {
    let p = this.ranges.get(start);
    if (p) {
      this.ranges.delete(start); // most recently used goes last
      this.ranges.set(start, p);
      return p;
    }
    p = this.get(`${this.base}/frames.bin?start=${start}&count=${count}`).then((buf) => {
      const s = splitRange(buf);
      if (s.error) throw new Error(`the host sent frames the page cannot read (${s.error})`);
      if (this.ranges.get(start) === p) {
        this.sizes.set(start, buf.byteLength);
        this.bytes += buf.byteLength;
        this.trim();
      }
      return { buf, frames: s.frames, byId: new Map(s.frames.map((f, i) => [f.id, i])), count };
    });
    this.ranges.set(start, p);
    p.catch(() => this.forget(start, p)); // a failed range is fetched again next time
    return p;
  }

  forget(start, p = this.ranges.get(start)) {
    if (!p || this.ranges.get(start) !== p) return;
    this.ranges.delete(start);
    this.bytes -= this.sizes.get(start) ?? 0;
    this.sizes.delete(start);
  }

  trim() {
    for (const start of this.ranges.keys()) {
      if (this.bytes <= CACHE_BYTES || this.ranges.size <= 2) break;
      this.forget(start);
    }
  }

  // { packed, transfer } of the frame, or null when the range does not hold it. A range fetched
  // while the recording was shorter (it is still being written) is fetched again when it falls short.
  async frame({ start, count, id, next }) {
    let r = await this.range(start, count);
    if (!r.byId.has(id) && r.frames.length < r.count) {
      this.forget(start);
      r = await this.range(start, count);
    }
    if (Number.isFinite(next) && next !== start) this.range(next, count).catch(() => {});
    const i = r.byId.get(id);
    if (i === undefined) return null;
    const t0 = performance.now();
    const d = decodeAt(r.buf, r.frames[i], this.bodies);
    if (d.error) throw new Error(d.error);
    d.packed.decodeMs = performance.now() - t0;
    return d;
  }
}
