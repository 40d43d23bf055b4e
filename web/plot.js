// Energy over the run on a small 2D canvas, drawn by hand (no chart library): kinetic, potential
// and total, translational only — the page knows mass and velocity, not the inertia tensor, so
// KE = ½m|v|² and PE = m·g·z (z measured from the ground's top face at 0).

export const G = 9.81;

const SERIES = [
  { key: "kinetic", label: "KE", color: "#ff9f43" },
  { key: "potential", label: "PE", color: "#54a0ff" },
  { key: "total", label: "total", color: "#e8e8e8" },
];

// Energies of one frame's dynamic bodies. `masses` maps body_id -> mass (from metadata). A packed
// frame (frames.js) is read from its arrays; a wire frame from its states.
export function frameEnergy(frame, masses) {
  let kinetic = 0, potential = 0;
  if (frame.vel) {
    const { n, ids, flags, vel, pos } = frame;
    for (let i = 0; i < n; i++) {
      if (flags[i] & 1) continue; // environment (frames.js ENV)
      const m = masses.get(ids[i]) ?? 0;
      const vx = vel[3 * i], vy = vel[3 * i + 1], vz = vel[3 * i + 2];
      kinetic += 0.5 * m * (vx * vx + vy * vy + vz * vz);
      potential += m * G * pos[3 * i + 2];
    }
    return { kinetic, potential, total: kinetic + potential };
  }
  for (const s of frame.states) {
    if (s.is_environment) continue;
    const m = masses.get(s.body_id) ?? 0;
    const v = s.velocity;
    kinetic += 0.5 * m * (v.x * v.x + v.y * v.y + v.z * v.z);
    potential += m * G * s.position.z;
  }
  return { kinetic, potential, total: kinetic + potential };
}

export class EnergyPlot {
  constructor(canvas, maxPoints = 4000) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.maxPoints = maxPoints;
    this.reset();
  }

  reset() {
    // Fixed-size typed arrays: a long run halves its resolution instead of growing without bound.
    this.t = new Float64Array(this.maxPoints);
    this.values = { kinetic: new Float64Array(this.maxPoints), potential: new Float64Array(this.maxPoints), total: new Float64Array(this.maxPoints) };
    this.n = 0;
    this.stride = 1; // keep every stride-th sample
    this.seen = 0;
    this.dirty = true;
  }

  add(time, e) {
    if (this.seen++ % this.stride !== 0) return;
    if (this.n === this.maxPoints) {
      // Keep every other point and sample half as often from now on.
      for (let i = 0; i < this.n / 2; i++) {
        this.t[i] = this.t[2 * i];
        for (const s of SERIES) this.values[s.key][i] = this.values[s.key][2 * i];
      }
      this.n /= 2;
      this.stride *= 2;
    }
    this.t[this.n] = time;
    for (const s of SERIES) this.values[s.key][this.n] = e[s.key];
    this.n++;
    this.dirty = true;
  }

  draw() {
    if (!this.dirty) return;
    this.dirty = false;
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
    if (this.n === 0) {
      ctx.fillStyle = "#8a93a0";
      ctx.fillText("no data yet", left, H / 2);
      return;
    }
    let lo = Infinity, hi = -Infinity;
    for (const s of SERIES) {
      const a = this.values[s.key];
      for (let i = 0; i < this.n; i++) {
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
    const t0 = this.t[0], t1 = Math.max(this.t[this.n - 1], t0 + 1e-6);
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
      ctx.fillText(formatJoules(v), 2, y + 3);
    }
    ctx.fillText(`${t0.toFixed(1)} s`, left, H - 4);
    const endLabel = `${t1.toFixed(1)} s`;
    ctx.fillText(endLabel, W - right - ctx.measureText(endLabel).width, H - 4);

    let lx = left;
    for (const s of SERIES) {
      const a = this.values[s.key];
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.5;
      ctx.beginPath();
      for (let i = 0; i < this.n; i++) {
        const x = X(this.t[i]), y = Y(a[i]);
        if (i === 0) ctx.moveTo(x, y);
        else ctx.lineTo(x, y);
      }
      ctx.stroke();
      ctx.fillStyle = s.color;
      ctx.fillText(s.label, lx, 11);
      lx += ctx.measureText(s.label).width + 12;
    }
  }
}

function formatJoules(v) {
  const a = Math.abs(v);
  if (a >= 1e6) return `${(v / 1e6).toFixed(1)}MJ`;
  if (a >= 1e3) return `${(v / 1e3).toFixed(1)}kJ`;
  return `${v.toFixed(a < 10 ? 1 : 0)}J`;
}
