// The frame decoder worker (see frames.js): parses each message the page's socket received and
// hands frames back as typed arrays by transfer, in the order the messages came.
import { decode } from "./frames.js";

self.onmessage = (ev) => {
  const r = decode(ev.data);
  if (r.packed) self.postMessage({ packed: r.packed }, r.transfer);
  else self.postMessage(r);
};
