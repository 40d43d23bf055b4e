// The timeline under the view: which frame is on screen, for a live run or a recording.
//
// A frame source is anything with
//   kind            "live" (the history of the run in progress, history.js) or "recording"
//   range()         { count, firstId, lastId, t0, t1 } of what it holds now (a live one grows)
//   get(q)          Promise of a Frame (frames.js) or null, for q = {first} | {last} |
//                   {id, offset} | {time} (history.js FrameHistory.find says what each means)
//   bodySeries(id)  Promise of { t, values: {speed, vx, …, wz} } for the velocity plots
// so the same timeline, view, overlays and plots serve both (LiveSource below; RecordingSource in
// recording.js).
//
// Live mode shows the newest frame as it arrives (the page does that; the timeline only says
// `following`). Any other action — pause, a step, a drag, a seek — leaves live mode: the view
// holds the cursor's frame while the host goes on, and `backToLive()` returns to the head. Play
// advances simulation time at `speed` × the wall clock; at the end it loops, stops (a recording),
// or rejoins the head (a live run).

import { Frame } from "./frames.js";

export const SPEEDS = [0.25, 0.5, 1, 2, 4];

export class LiveSource {
  constructor(run) {
    this.kind = "live";
    this.run = run;
    this.last = { count: 0 };
  }

  range() {
    return this.last;
  }

  // The worker's range arrives with every frame and with every answer.
  setRange(r) {
    if (r) this.last = r;
  }

  async get(q) {
    const { frame, range } = await this.run.query(q);
    this.setRange(range);
    return frame ? new Frame(frame) : null;
  }

  // { t, values } of one body's velocity over the history (history.js bodySeries).
  async bodySeries(bodyId) {
    const { frame } = await this.run.query({ series: bodyId });
    return frame;
  }
}

export class Timeline {
  // onFrame(frame) shows a frame the timeline fetched; onChange() redraws the controls;
  // liveFrame() is the newest frame the page drew (where a pause of a live run stops).
  constructor({ onFrame, onChange, liveFrame }) {
    this.onFrame = onFrame;
    this.liveFrame = liveFrame ?? (() => null);
    this.onChange = () => {};
    this.setSource(null);
    this.onChange = onChange ?? (() => {});
  }

  setSource(source) {
    this.source = source;
    this.following = source?.kind === "live"; // live mode: the view shows each new frame
    this.playing = false;
    this.speed = this.speed ?? 1;
    this.loop = this.loop ?? false;
    this.frame = null; // the frame on screen when not following
    this.time = 0; // the play head's simulation time
    this.wanted = null; // the newest query not sent yet
    this.busy = false;
    this.requests = 0;
    this.receiveMs = 0; // main-thread ms of the last frame taken
    this.onChange();
  }

  get live() {
    return this.source?.kind === "live";
  }

  // The frame id and time on screen (following: the newest frame the page drew).
  position() {
    const f = this.following ? this.liveFrame() : this.frame;
    return f ? { id: f.frame_id, time: f.simulation_time } : null;
  }

  // --- actions (buttons, keys, the slider) ---

  togglePlay() {
    if (this.playing || this.following) this.pause();
    else this.play();
  }

  play() {
    if (!this.source) return;
    if (this.following) return; // already moving with the host
    const r = this.source.range();
    // Play from the end of a finished stretch starts over, as a player does.
    if (this.frame && r.count && this.frame.frame_id >= r.lastId) {
      if (!this.live) this.seek({ first: true });
      else return this.backToLive();
    }
    this.playing = true;
    this.lastTick = null;
    this.onChange();
  }

  pause() {
    if (this.following) {
      this.following = false;
      this.frame = this.liveFrame() ?? this.frame;
      this.time = this.frame?.simulation_time ?? 0;
    }
    this.playing = false;
    this.onChange();
  }

  step(delta) {
    this.leaveLive();
    this.playing = false;
    const id = this.frame?.frame_id;
    this.request(id === undefined ? { last: true } : { id, offset: delta });
  }

  home() {
    this.leaveLive();
    this.request({ first: true });
  }

  end() {
    if (this.live) return this.backToLive();
    this.request({ last: true });
  }

  // A drag or click on the slider: a share 0..1 of the span held.
  scrubTo(share) {
    const r = this.source?.range();
    if (!r?.count) return;
    this.leaveLive();
    this.seekTime(r.t0 + Math.max(0, Math.min(1, share)) * (r.t1 - r.t0));
  }

  seekTime(time) {
    this.leaveLive();
    this.time = time;
    this.request({ time });
  }

  seek(q) {
    this.leaveLive();
    this.request(q);
  }

  setSpeed(s) {
    this.speed = SPEEDS.includes(s) ? s : 1;
    this.onChange();
  }

  faster(dir) {
    const i = SPEEDS.indexOf(this.speed);
    this.setSpeed(SPEEDS[Math.max(0, Math.min(SPEEDS.length - 1, (i < 0 ? 2 : i) + dir))]);
  }

  setLoop(on) {
    this.loop = on;
    this.onChange();
  }

  backToLive() {
    if (!this.live) return;
    this.following = true;
    this.playing = false;
    this.frame = null;
    this.wanted = null;
    this.onChange();
  }

  leaveLive() {
    if (this.following) this.pause();
  }

  // --- per animation frame ---

  tick(now) {
    if (!this.playing || !this.source) return;
    const dt = this.lastTick === null ? 0 : Math.min(now - this.lastTick, 100); // a hidden tab does not jump
    this.lastTick = now;
    const r = this.source.range();
    if (!r.count) return;
    let t = this.time + (dt / 1000) * this.speed;
    if (t > r.t1) {
      if (this.loop) t = r.t0;
      else if (this.live) return this.backToLive();
      else {
        t = r.t1;
        this.playing = false;
        this.onChange();
      }
    }
    this.time = t;
    this.request({ time: t });
  }

  // One query in flight at a time; while it runs only the newest wanted one waits.
  request(q) {
    if (!this.source) return;
    this.wanted = q;
    if (!this.busy) this.next();
  }

  async next() {
    const q = this.wanted;
    if (!q) return;
    this.wanted = null;
    this.busy = true;
    const source = this.source;
    let frame = null;
    try {
      frame = await source.get(q);
    } catch (e) {
      this.error = e.message;
    }
    const t0 = performance.now();
    this.busy = false;
    this.requests++;
    if (source !== this.source || this.following) return;
    if (frame) {
      this.frame = frame;
      if (q.time === undefined) this.time = frame.simulation_time;
      this.onFrame(frame);
      this.onChange();
      // Main-thread time taking the frame (the controls redrawn); applying and drawing it is the
      // animation loop's (app.js workMs).
      this.receiveMs = performance.now() - t0;
    }
    this.next();
  }
}
