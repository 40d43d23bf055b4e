// Plots over simulation time on a small 2D canvas, drawn by hand (no chart library): the system's
// energy (linear and rotational kinetic, potential, total) and the selected body's speed and spin
// with their components. Every plot shows a cursor at the frame on screen, and a click on a plot
// seeks the timeline there (the Rerun / Foxglove way: one time cursor for the view and the plots).

export const G = 9.81;

// ω in the body frame: q⁻¹ ω q, with q = {w, x, y, z} given as four numbers.
function toBody(qw, qx, qy, qz, wx, wy, wz, out) {
  // v' = v + 2 s (u × v) + 2 u × (u × v) with u = −(x, y, z), s = w (the inverse rotation).
  const ux = -qx, uy = -qy, uz = -qz;
  const tx = 2 * (uy * wz - uz * wy), ty = 2 * (uz * wx - ux * wz), tz = 2 * (ux * wy - uy * wx);
  out[0] = wx + qw * tx + (uy * tz - uz * ty);
  out[1] = wy + qw * ty + (uz * tx - ux * tz);
  out[2] = wz + qw * tz + (ux * ty - uy * tx);
  return out;
}

const _wb = new Float64Array(3);

// ½ ω_bᵀ I ω_b with I row-major (metadata's `inertia`).
export function rotationalEnergy(I, q, w) {
  const b = toBody(q[0], q[1], q[2], q[3], w[0], w[1], w[2], _wb);
  const ix = I[0] * b[0] + I[1] * b[1] + I[2] * b[2];
  const iy = I[3] * b[0] + I[4] * b[1] + I[5] * b[2];
  const iz = I[6] * b[0] + I[7] * b[1] + I[8] * b[2];
  return 0.5 * (b[0] * ix + b[1] * iy + b[2] * iz);
}

// Energies of one frame's dynamic bodies: linear ½m|v|², rotational ½ωᵀIω (when `inertias` maps
// body_id -> its 9-number tensor, metadata's `inertia`), kinetic = their sum, potential m·g·z (z
// from the ground's top face at 0), total. `masses` maps body_id -> mass. A packed frame
// (frames.js) is read from its arrays; a wire frame from its states.
export function frameEnergy(frame, masses, inertias = null) {
  let linear = 0, rotational = 0, potential = 0;
  const q = [0, 0, 0, 0], w = [0, 0, 0];
  if (frame.velocity) {
    const { n, ids, flags, velocity, pose } = frame;
    for (let i = 0; i < n; i++) {
      if (flags[i] & 1) continue; // environment (frames.js ENV)
      const m = masses.get(ids[i]) ?? 0;
      const vx = velocity[6 * i], vy = velocity[6 * i + 1], vz = velocity[6 * i + 2];
      linear += 0.5 * m * (vx * vx + vy * vy + vz * vz);
      potential += m * G * pose[7 * i + 2];
      const I = inertias?.get(ids[i]);
      if (I) {
        q[0] = pose[7 * i + 6]; // w, x, y, z
        for (let k = 1; k < 4; k++) q[k] = pose[7 * i + 2 + k];
        for (let k = 0; k < 3; k++) w[k] = velocity[6 * i + 3 + k];
        rotational += rotationalEnergy(I, q, w);
      }
    }
  } else {
    for (const s of frame.states) {
      if (s.is_environment) continue;
      const m = masses.get(s.body_id) ?? 0;
      const v = s.velocity;
      linear += 0.5 * m * (v.x * v.x + v.y * v.y + v.z * v.z);
      potential += m * G * s.position.z;
      const I = inertias?.get(s.body_id);
      if (I && s.orientation && s.angular_velocity) {
        const o = s.orientation, a = s.angular_velocity;
        rotational += rotationalEnergy(I, [o.w, o.x, o.y, o.z], [a.x, a.y, a.z]);
      }
    }
  }
  const kinetic = linear + rotational;
  return { linear, rotational, kinetic, potential, total: kinetic + potential };
}

// What each plot shows.
export const PLOTS = {
  energy: {
    title: "Energy (system)", unit: "J",
    series: [
      { key: "linear", label: "KE lin", color: "#ff9f43" },
      { key: "rotational", label: "KE rot", color: "#feca57" },
      { key: "potential", label: "PE", color: "#54a0ff" },
      { key: "total", label: "total", color: "#e8e8e8" },
    ],
  },
  velocity: {
    title: "Velocity (selected body)", unit: "m/s",
    series: [
      { key: "speed", label: "|v|", color: "#e8e8e8" },
      { key: "vx", label: "vx", color: "#ff6b6b" },
      { key: "vy", label: "vy", color: "#5fd38d" },
      { key: "vz", label: "vz", color: "#4f9cff" },
    ],
  },
  angular: {
    title: "Angular velocity (selected body)", unit: "rad/s",
    series: [
      { key: "spin", label: "|ω|", color: "#e8e8e8" },
      { key: "wx", label: "ωx", color: "#ff6b6b" },
      { key: "wy", label: "ωy", color: "#5fd38d" },
      { key: "wz", label: "ωz", color: "#4f9cff" },
    ],
  },
};

// One body's velocity sample of a frame, or null when the body is not in it.
export function bodySample(frame, bodyId) {
  const i = frame.indexOf(bodyId);
  if (i < 0) return null;
  const v = frame.velocity, o = 6 * i;
  const vx = v[o], vy = v[o + 1], vz = v[o + 2], wx = v[o + 3], wy = v[o + 4], wz = v[o + 5];
  return { speed: Math.hypot(vx, vy, vz), vx, vy, vz, spin: Math.hypot(wx, wy, wz), wx, wy, wz };
}

/** Samples of several series over time, bounded: past maxPoints it keeps every other point. */
export class Series {
  constructor(keys, maxPoints = 4000) {
    this.keys = keys;
    this.maxPoints = maxPoints;
    this.reset();
  }

  reset() {
    this.t = new Float64Array(this.maxPoints);
    this.values = Object.fromEntries(this.keys.map((k) => [k, new Float64Array(this.maxPoints)]));
    this.n = 0;
    this.stride = 1;
    this.seen = 0;
    this.version = (this.version ?? 0) + 1;
  }

  // Samples come in time order; one at or before the last kept time is ignored (a replayed frame).
  add(time, sample) {
    if (this.n > 0 && time <= this.t[this.n - 1]) return;
    if (this.seen++ % this.stride !== 0) return;
    if (this.n === this.maxPoints) {
      for (let i = 0; i < this.n / 2; i++) {
        this.t[i] = this.t[2 * i];
        for (const k of this.keys) this.values[k][i] = this.values[k][2 * i];
      }
      this.n /= 2;
      this.stride *= 2;
    }
    this.t[this.n] = time;
    for (const k of this.keys) this.values[k][this.n] = sample[k];
    this.n++;
    this.version++;
  }

  // The sample nearest a time (index), or -1.
  nearest(time) {
    if (!this.n) return -1;
    let lo = 0, hi = this.n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.t[mid] < time) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && time - this.t[lo - 1] < this.t[lo] - time) lo--;
    return lo;
  }

  // CSV with a header row: time then each series, full precision.
  csv(labels = this.keys) {
    const rows = [["simulation_time_s", ...labels].join(",")];
    for (let i = 0; i < this.n; i++) rows.push([this.t[i], ...this.keys.map((k) => this.values[k][i])].join(","));
    return rows.join("\n") + "\n";
  }
}

export class TimePlot {
  // onSeek(time) is called when the user clicks the plot.
  constructor(canvas, { onSeek } = {}) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.kind = "energy";
    this.series = null;
    this.cursor = null;
    this.drawn = "";
    this.empty = "no data yet";
    canvas.addEventListener("click", (ev) => {
      const t = this.timeAt(ev.offsetX);
      this.lastSeek = t; // what the click asked for (the tests compare the frame shown with it)
      if (t !== null) onSeek?.(t);
    });
  }

  show(kind, series, empty = "no data yet") {
    if (kind === this.kind && series === this.series && empty === this.empty) return;
    this.kind = kind;
    this.series = series;
    this.empty = empty;
    this.drawn = "";
  }

  setCursor(time) {
    this.cursor = time;
  }

  // The simulation time under a canvas x (CSS px), or null.
  timeAt(x) {
    const s = this.series;
    if (!s?.n || !this.geom) return null;
    const { left, width, t0, t1 } = this.geom;
    return t0 + Math.max(0, Math.min(1, (x - left) / width)) * (t1 - t0);
  }

  draw() {
    const s = this.series;
    const key = `${this.kind}:${s?.version}:${this.cursor}:${this.empty}:${this.canvas.clientWidth}`;
    if (key === this.drawn) return;
    this.drawn = key;
    const { canvas, ctx } = this;
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, Math.round(canvas.clientWidth * dpr)), h = Math.max(1, Math.round(canvas.clientHeight * dpr));
    if (canvas.width !== w || canvas.height !== h) {
      canvas.width = w;
      canvas.height = h;
    }
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    const W = w / dpr, H = h / dpr;
    const left = 46, right = 6, top = 16, bottom = 16;
    ctx.clearRect(0, 0, W, H);
    ctx.font = "10px system-ui, sans-serif";
    const def = PLOTS[this.kind];
    if (!s?.n) {
      this.geom = null;
      ctx.fillStyle = "#8a93a0";
      ctx.fillText(this.empty, left, H / 2);
      return;
    }
    let lo = Infinity, hi = -Infinity;
    for (const d of def.series) {
      const a = s.values[d.key];
      for (let i = 0; i < s.n; i++) {
        if (a[i] < lo) lo = a[i];
        if (a[i] > hi) hi = a[i];
      }
    }
    if (hi - lo < 1e-9) {
      hi += 1;
      lo -= 1;
    }
    const pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
    const t0 = s.t[0], t1 = Math.max(s.t[s.n - 1], t0 + 1e-6);
    this.geom = { left, width: W - left - right, t0, t1 };
    const X = (t) => left + ((t - t0) / (t1 - t0)) * (W - left - right);
    const Y = (v) => top + (1 - (v - lo) / (hi - lo)) * (H - top - bottom);

    ctx.strokeStyle = "#2e343d";
    ctx.fillStyle = "#8a93a0";
    ctx.lineWidth = 1;
    for (let k = 0; k <= 4; k++) {
      const v = lo + ((hi - lo) * k) / 4;
      const y = Math.round(Y(v)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(left, y);
      ctx.lineTo(W - right, y);
      ctx.stroke();
      ctx.fillText(formatValue(v, def.unit), 2, y + 3);
    }
    ctx.fillText(`${t0.toFixed(1)} s`, left, H - 4);
    const endLabel = `${t1.toFixed(1)} s`;
    ctx.fillText(endLabel, W - right - ctx.measureText(endLabel).width, H - 4);

    let lx = left;
    for (const d of def.series) {
      const a = s.values[d.key];
      ctx.strokeStyle = d.color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      for (let i = 0; i < s.n; i++) {
        const x = X(s.t[i]), y = Y(a[i]);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.stroke();
      ctx.fillStyle = d.color;
      ctx.fillText(d.label, lx, 11);
      lx += ctx.measureText(d.label).width + 10;
    }
    if (this.cursor !== null && this.cursor >= t0 - 1e-9 && this.cursor <= t1 + 1e-9) {
      const x = Math.round(X(this.cursor)) + 0.5;
      ctx.strokeStyle = "#4fd1ff";
      ctx.lineWidth = 1;
      ctx.beginPath();
      ctx.moveTo(x, top);
      ctx.lineTo(x, H - bottom);
      ctx.stroke();
      // The values at the cursor, so a reading needs no hovering.
      const i = s.nearest(this.cursor);
      ctx.fillStyle = "#4fd1ff";
      const text = def.series.map((d) => `${d.label} ${formatValue(s.values[d.key][i], def.unit)}`).join("  ");
      ctx.fillText(text, left, H - bottom - 3);
    }
  }
}

export function formatValue(v, unit) {
  const a = Math.abs(v);
  if (unit === "J") {
    if (a >= 1e6) return `${(v / 1e6).toFixed(1)}MJ`;
    if (a >= 1e3) return `${(v / 1e3).toFixed(1)}kJ`;
    return `${v.toFixed(a < 10 ? 1 : 0)}J`;
  }
  return v.toFixed(a < 10 ? 2 : 1);
}

// The smallest 1, 2 or 5 × 10^k at or above v (> 0): a scale a person reads at a glance.
export function niceCeil(v) {
  const e = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * e >= v * (1 - 1e-9)) return +(m * e).toPrecision(3);
  return 10 * e;
}
