// The WebSocket of one run, as the page sees it: opened in a worker (socket-worker.js) so that
// reading and decoding never wait for the main thread, or on the main thread if no worker
// starts. Either way the handlers get the same decoded results in arrival order:
//   onOpen(), onResult({msg} | {packed, range} | {error}), onClose(code, range).
// Both keep the run's history of frames (history.js); query(q) answers a history query
// (FrameHistory.answer's forms) with { frame: packed | series | null, range }.
//
// Why a worker: with no GPU, a draw can hold the main thread for a tenth of a second (Chromium
// waits for the software rasteriser before it composites). A socket read there falls behind a
// 60 Hz stream of 250–500 KB frames: measured with 1000 bodies at full resolution, the page got
// 4–5 frames a second and they were seconds old (the host's queue dropped hundreds). JSON.parse
// of one such frame is also 4–5 ms of main-thread time. In the worker both leave the main thread,
// and the page takes only the newest frame when it is ready for one.

import { FrameOutbox } from "./frames.js";
import { FrameHistory } from "./history.js";

export function openSocket(url, handlers) {
  try {
    return new WorkerSocket(url, handlers);
  } catch {
    return new MainSocket(url, handlers);
  }
}

class WorkerSocket {
  constructor(url, handlers) {
    this.handlers = handlers;
    this.isOpen = false;
    this.started = false; // the worker answered at least once
    this.done = false;
    this.coalesced = 0;
    this.where = "worker";
    this.req = 0;
    this.waiting = new Map(); // req -> resolve of a history query
    this.worker = new Worker(new URL("./socket-worker.js", import.meta.url), { type: "module" });
    this.worker.onmessage = (ev) => this.receive(ev.data);
    this.worker.onerror = (ev) => {
      ev.preventDefault?.();
      if (this.done) return;
      this.worker.terminate();
      if (!this.started) {
        // The worker did not load (its script missing, say): the same socket on the main thread.
        this.fallback = new MainSocket(url, handlers);
        this.where = "main thread";
      } else {
        this.dead = true;
        for (const resolve of this.waiting.values()) resolve({ frame: null, range: { count: 0 } });
        this.waiting.clear();
        this.finish(1006);
      }
    };
    this.worker.postMessage({ open: url });
  }

  receive(d) {
    if (d.req !== undefined) {
      // History answers also come after the socket closed: the history outlives it.
      this.waiting.get(d.req)?.({ frame: d.answer, range: d.range });
      this.waiting.delete(d.req);
      return;
    }
    if (this.done) return;
    this.started = true;
    if (d.open) {
      this.isOpen = true;
      this.handlers.onOpen?.();
    } else if (d.closed !== undefined) {
      this.finish(d.closed, d.range);
    } else {
      if (d.packed) {
        this.coalesced = d.coalesced;
        this.worker.postMessage({ ack: true });
      }
      this.handlers.onResult?.(d);
    }
  }

  // The socket closed; the worker stays for history queries until abandon().
  finish(code, range) {
    this.done = true;
    this.isOpen = false;
    this.handlers.onClose?.(code, range);
  }

  query(q) {
    if (this.fallback) return this.fallback.query(q);
    if (this.dead) return Promise.resolve({ frame: null, range: { count: 0 } });
    const req = ++this.req;
    return new Promise((resolve) => {
      this.waiting.set(req, resolve);
      this.worker.postMessage({ query: q, req });
    });
  }

  send(text) {
    if (this.fallback) return this.fallback.send(text);
    if (!this.isOpen) return false;
    this.worker.postMessage({ send: text });
    return true;
  }

  close() {
    if (this.fallback) return this.fallback.close();
    this.worker.postMessage({ close: true });
  }

  // Ends the run's socket and its history now, with no close reported.
  abandon() {
    if (this.fallback) return this.fallback.abandon();
    this.done = this.dead = true;
    this.worker.terminate();
    for (const resolve of this.waiting.values()) resolve({ frame: null, range: { count: 0 } });
    this.waiting.clear();
  }
}

class MainSocket {
  constructor(url, handlers) {
    this.handlers = handlers;
    this.coalesced = 0;
    this.where = "main thread";
    this.history = new FrameHistory();
    // The worker's outbox, with every frame taken at once (nothing to coalesce on one thread).
    this.outbox = new FrameOutbox((m) => {
      if (m.packed) this.outbox.ack();
      handlers.onResult?.(m);
    }, (p) => this.history.add(p));
    this.outbox.extra = () => ({ range: this.history.range() });
    this.ws = new WebSocket(url);
    this.ws.binaryType = "arraybuffer";
    this.ws.onopen = () => handlers.onOpen?.();
    this.ws.onmessage = (ev) => this.outbox.push(ev.data);
    this.ws.onerror = () => {
      // No reason is given; the close that follows says it.
    };
    this.ws.onclose = (ev) => handlers.onClose?.(ev.code, this.history.range());
  }

  query(q) {
    return Promise.resolve({ frame: this.history.answer(q), range: this.history.range() });
  }

  send(text) {
    if (this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(text);
    return true;
  }

  close() {
    this.ws.close();
  }

  abandon() {
    this.ws.onclose = null;
    this.ws.close();
    this.history.clear();
  }
}
