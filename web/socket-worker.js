// The live socket's worker: owns the WebSocket of one run, reads it at the host's pace whatever
// the page's main thread is doing, and hands messages over decoded (frames.js, FrameOutbox).
//   page -> worker: {open: url} | {send: text} | {ack: true} | {close: true}
//   worker -> page: {open: true} | {packed, coalesced} | {msg} | {error} | {closed: code}
import { FrameOutbox } from "./frames.js";

let ws = null;
const outbox = new FrameOutbox((m, transfer) => self.postMessage(m, transfer));

self.onmessage = ({ data }) => {
  if (data.open) {
    try {
      ws = new WebSocket(data.open);
    } catch {
      self.postMessage({ closed: 1006 });
      return;
    }
    ws.binaryType = "arraybuffer"; // SHF1 frames are read through typed-array views (frames.js)
    ws.onopen = () => self.postMessage({ open: true });
    ws.onmessage = (ev) => outbox.push(ev.data);
    ws.onerror = () => {
      // No reason is given; the close that follows says it.
    };
    ws.onclose = (ev) => {
      outbox.flush(); // the last frame before the close goes first
      self.postMessage({ closed: ev.code });
    };
  } else if (data.send !== undefined) {
    if (ws?.readyState === WebSocket.OPEN) ws.send(data.send);
  } else if (data.ack) {
    outbox.ack();
  } else if (data.close) {
    ws?.close();
  }
};
