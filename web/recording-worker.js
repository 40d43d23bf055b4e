// A recording's frames, read off the main thread: fetches frames.bin ranges, decodes the frame the
// page asks for (frame-range.js) and hands its arrays over by transfer.
//   page -> worker: {open: base, metadata} | {get: {start, count, id, next}, req}
//   worker -> page: {req, packed | null} | {req, error}
import { RangeReader } from "./frame-range.js";

let reader = null;

self.onmessage = async ({ data }) => {
  if (data.open !== undefined) {
    reader = new RangeReader(data.open);
    reader.setMetadata(data.metadata);
  } else if (data.get) {
    try {
      const r = reader ? await reader.frame(data.get) : null;
      if (r) self.postMessage({ req: data.req, packed: r.packed }, r.transfer);
      else self.postMessage({ req: data.req, packed: null });
    } catch (e) {
      self.postMessage({ req: data.req, error: e.message });
    }
  }
};
