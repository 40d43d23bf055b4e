// The live socket's worker: owns the WebSocket of one run, reads it at the host's pace whatever
// the page's main thread is doing, hands messages over decoded (frames.js, FrameOutbox), and keeps
// the run's history of frames for the timeline (history.js). It outlives the socket's close, so a
// finished run can still be scrubbed; the page terminates it when the next run starts.
//   page -> worker: {open: url} | {send: text} | {ack: true} | {close: true} | {query, req}
//   worker -> page: {open: true} | {packed, coalesced, range} | {msg} | {error} | {closed: code}
//                   | {answer: packed | null, req, range}
import { FrameOutbox } from "./frames.js";
import { FrameHistory } from "./history.js";

let ws = null;
const history = new FrameHistory();
const outbox = new FrameOutbox((m, transfer) => self.postMessage(m, transfer), (p) => history.add(p));
outbox.extra = () => ({ range: history.range() });

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
      self.postMessage({ closed: ev.code, range: history.range() });
    };
  } else if (data.send !== undefined) {
    if (ws?.readyState === WebSocket.OPEN) ws.send(data.send);
  } else if (data.ack) {
    outbox.ack();
  } else if (data.close) {
    ws?.close();
  } else if (data.query) {
    // A copy (structured clone), not a transfer: the history keeps its frame.
    self.postMessage({ answer: history.answer(data.query), req: data.req, range: history.range() });
  }
};
