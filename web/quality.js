// Adaptive render quality: lowers the drawing-buffer resolution (and, past a point, turns body
// shadows off) while the page misses its frame budget, and brings them back when it has headroom.
//
// Why: how long a frame takes to draw grows with the pixels shaded and the geometry drawn, not
// with anything the page computes (its own work is about a millisecond). On a fast GPU the top
// level always fits and this never acts. On a slow one — an integrated GPU driving a big window,
// or a software rasteriser with no GPU at all, where 1000 bodies at full resolution draw at a
// few frames per second — a fluid view at lower sharpness is worth more for watching motion than
// a sharp slideshow. The status bar shows the level in use, so a blurry view is never a mystery.
//
// How: the governor watches requestAnimationFrame intervals while the view is animating. Over a
// window of about half a second, a mean interval above the budget (20 ms, i.e. below 50 fps)
// steps one level down (two below 25 fps). The mean, not the median: when frames stream slower
// than the display, cheap idle refreshes sit between costly draws, and a draw's cost can land in
// the interval after it (the browser pipelines), so only the total time per refresh tells. A
// full second at the display's rate (mean ≤ 18 ms) tries one level up; if that level then misses
// the budget it is dropped again and the next try waits twice as long (up to 32 s), so a scene
// that cannot hold a level does not flicker between two.

// Each level: the share of the device pixel ratio to render at, and whether bodies cast shadows.
// Resolution goes first (it costs least to the eye), shadows only after half resolution.
export const LEVELS = [
  { scale: 1, shadows: true },
  { scale: 0.75, shadows: true },
  { scale: 0.5, shadows: true },
  { scale: 0.5, shadows: false },
  { scale: 0.35, shadows: false },
  { scale: 0.25, shadows: false },
];

const BUDGET_MS = 20; // slower than 50 fps: step down (or 1.2 display periods on a slower display)
const AT_RATE_MS = 18; // 60 Hz display rate with a little jitter: room to step up (or 1.08 periods)
const WINDOW_MS = 500; // judge each level over this much time
const MIN_SAMPLES = 4; // drawn frames a window needs before it is judged
const SETTLE_FRAMES = 3; // ignore the frames right after a change (the resize itself costs one)
const UP_WAIT_MS = 1000; // time at the display's rate before trying a level up
const MAX_BACKOFF = 32; // longest wait before retrying a level that failed, in UP_WAIT_MS
const PROBE_HOLD_MS = 3000; // a level tried going up counts as holding after this long

export class QualityGovernor {
  // onChange(level, reason) applies a level; it is called once from the constructor.
  constructor(onChange) {
    this.onChange = onChange;
    this.auto = true;
    this.level = 0;
    this.reason = "start";
    this.failedUp = new Array(LEVELS.length).fill(1); // backoff factor of trying each level again
    this.probing = -1; // the level just tried going up, until it holds or fails
    this.probeStart = 0;
    this.displayMs = 1000 / 60; // the display's refresh period, learnt from still frames
    this.intervals = new Float64Array(256);
    this.reset(0);
    this.onChange(LEVELS[0], this.reason);
  }

  reset(now) {
    this.n = 0;
    this.skip = SETTLE_FRAMES;
    this.windowStart = now;
    this.goodSince = now;
    this.last = 0;
  }

  setAuto(on, now = performance.now()) {
    this.auto = on;
    this.set(0, on ? "auto on: starting from full quality" : "auto off: full quality", now);
  }

  set(level, reason, now) {
    if (level !== this.level || reason !== this.reason) {
      this.level = level;
      this.reason = reason;
      this.onChange(LEVELS[level], reason);
    }
    this.reset(now);
  }

  // Call once per animation frame with its timestamp. `idle` is true when the view is still (it
  // has not drawn for a while: run paused, camera still): those intervals say nothing about the
  // cost of drawing.
  tick(now, idle = false) {
    const prev = this.last;
    this.last = now;
    if (!this.auto || prev === 0) {
      this.windowStart = now;
      this.goodSince = now;
      this.n = 0;
      return;
    }
    if (idle) {
      // No sample, and the window waits. A still view's refreshes come at the display's own rate:
      // learn it, so a 30 Hz display (some remote desktops) is not taken for a slow draw.
      const iv = now - prev;
      if (iv > 4 && iv < 100) this.displayMs += (iv - this.displayMs) * 0.05;
      return;
    }
    if (this.skip > 0) {
      this.skip--;
      this.windowStart = now;
      return;
    }
    if (this.n < this.intervals.length) this.intervals[this.n++] = now - prev;
    if (now - this.windowStart < WINDOW_MS || this.n < MIN_SAMPLES) return;
    let sum = 0;
    for (let i = 0; i < this.n; i++) sum += this.intervals[i];
    const mean = sum / this.n;
    this.n = 0;
    this.windowStart = now;
    const budget = Math.max(BUDGET_MS, 1.2 * this.displayMs);
    if (mean > budget) {
      if (this.probing === this.level) {
        // The level just tried does not hold: back off before trying it again.
        this.failedUp[this.level] = Math.min(MAX_BACKOFF, this.failedUp[this.level] * 2);
      }
      this.probing = -1;
      if (this.level < LEVELS.length - 1) {
        // Far under budget (below 25 fps) two levels at once: a slow machine gets fluid sooner.
        const step = mean > 2 * budget ? 2 : 1;
        this.set(Math.min(LEVELS.length - 1, this.level + step), `${(1000 / mean).toFixed(0)} fps, under the ${(1000 / budget).toFixed(0)} fps budget`, now);
      }
      this.goodSince = now;
      return;
    }
    if (this.probing === this.level && now - this.probeStart >= PROBE_HOLD_MS) {
      this.probing = -1; // the tried level held: a later fall from it starts the backoff afresh
      this.failedUp[this.level] = 1;
    }
    if (mean > Math.max(AT_RATE_MS, 1.08 * this.displayMs)) {
      this.goodSince = now;
      return;
    }
    const up = this.level - 1;
    if (up >= 0 && now - this.goodSince >= UP_WAIT_MS * this.failedUp[up]) {
      this.probing = up;
      this.probeStart = now;
      this.set(up, `${(1000 / mean).toFixed(0)} fps with room to spare`, now);
    }
  }
}
