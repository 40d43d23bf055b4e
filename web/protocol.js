// The live protocol (docs/protocol.md, v1) as seen from the page: the two HTTP
// look-ups and one LiveRun per run. A run is one WebSocket = one server session, so every Start
// opens a fresh socket and nothing of a finished run can leak into the next.

import { Frame } from "./frames.js";
import { openSocket } from "./socket.js";

export async function fetchJSON(path) {
  const res = await fetch(path, { headers: { Accept: "application/json" } });
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return res.json();
}

export const fetchAssets = () => fetchJSON("/api/v1/live/assets");
export const fetchScenarios = () => fetchJSON("/api/v1/live/scenarios");

export function liveURL(loc = window.location) {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/api/v1/live`;
}

// Run states, in the order a run normally goes through them. "complete", "stopped", "error" and
// "closed" are final: the page can then be edited and started again.
export const FINAL_STATES = new Set(["complete", "stopped", "error", "closed"]);

/**
 * One run: sends configure, then start once metadata arrived, and reports what the server says.
 * Frames are not rendered here: onFrame only hands each parsed frame over; the view takes the
 * latest one per animation frame.
 */
export class LiveRun {
  constructor({ configure, start, url = liveURL(), handlers = {}, log = null }) {
    this.configure = configure;
    this.start = start;
    this.handlers = handlers; // onState(state), onMetadata(msg), onFrame(data), onRange(r), onComplete(msg), onError(text)
    this.log = log; // optional array that records every message sent (tests read it)
    this.state = "connecting";
    this.stopRequested = false;
    // The socket lives in a worker, which also decodes (socket.js says why); results come back
    // in arrival order, and the close after the messages that came before it.
    this.socket = openSocket(url, {
      onOpen: () => {
        this.setState("configuring");
        this.send(this.configure);
      },
      onResult: (r) => this.handle(r),
      onClose: (code, range) => {
        if (range) this.handlers.onRange?.(range);
        if (!FINAL_STATES.has(this.state)) {
          if (this.stopRequested) this.setState("stopped");
          else this.fail(code === 1000 ? "the server closed the connection" : `lost the connection to the host (code ${code}): is simhost serve still running?`, "closed");
        }
      },
    });
  }

  // Frames skipped for a newer one while the page was busy (socket.js, frames.js).
  get coalesced() {
    return this.socket.coalesced;
  }

  // "worker" or "main thread": where the socket is read and decoded.
  get decoding() {
    return this.socket.fallback ? this.socket.fallback.where : this.socket.where;
  }

  setState(state) {
    this.state = state;
    this.handlers.onState?.(state);
  }

  fail(text, state = "error") {
    this.handlers.onError?.(text);
    this.setState(state);
  }

  send(msg) {
    if (!this.socket.send(JSON.stringify(msg))) return false;
    if (this.log) {
      this.log.push(msg);
      if (this.log.length > 1000) this.log.splice(0, this.log.length - 500); // bounded over many runs
    }
    return true;
  }

  // One decoded message: { msg } | { packed } (a frame) | { error }.
  handle({ msg, packed, error, range }) {
    if (error) {
      this.handlers.onError?.(error);
      return;
    }
    if (packed) {
      if (this.state === "starting") this.setState("running");
      if (range) this.handlers.onRange?.(range);
      this.handlers.onFrame?.(new Frame(packed));
      return;
    }
    switch (msg?.type) {
      case "metadata":
        this.handlers.onMetadata?.(msg);
        if (this.stopRequested) {
          this.send({ type: "stop" });
        } else {
          this.setState("starting");
          this.send(this.start);
        }
        break;
      case "complete":
        this.handlers.onComplete?.(msg);
        this.setState(this.stopRequested ? "stopped" : "complete");
        break;
      case "error":
        // During configure/start an error ends the session; while streaming the run goes on
        // (protocol ext), so only the message is shown then.
        if (this.state === "running" || this.state === "paused") this.handlers.onError?.(msg.message);
        else this.fail(String(msg.message ?? "error"));
        break;
      default:
        // Scenario scripts may define their own messages; they are passed on untouched.
        this.handlers.onOther?.(msg);
    }
  }

  stop() {
    this.stopRequested = true;
    if (this.state === "connecting") {
      this.socket.close();
      this.setState("stopped");
    } else if (this.state !== "configuring") {
      // While configuring the stop goes out right after metadata (the first message must be configure,
      // and a stop as the second message is answered with complete).
      this.send({ type: "stop" });
    }
  }

  pause() {
    if (this.send({ type: "pause" })) this.setState("paused");
  }

  resume() {
    if (this.send({ type: "resume" })) this.setState("running");
  }

  step(frames) {
    this.send({ type: "step", frames });
  }

  applyImpulse(bodyId, impulse) {
    this.send({ type: "apply_impulse", body_id: bodyId, impulse });
  }

  // A frame of the run's history (history.js): { frame: packed | null, range }.
  query(q) {
    return this.socket.query(q);
  }

  // Ends the socket and drops the history (the next run's start does this to the last one).
  close() {
    this.socket.abandon();
  }
}
