// Copies the three.js files the live view imports from node_modules/ into web/vendor/, so the host
// serves them itself (the page never loads anything from another origin). Runs after `npm ci`
// (postinstall) and from the CMake build; web/vendor/ is git-ignored.
import { copyFileSync, mkdirSync, existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const webDir = dirname(fileURLToPath(import.meta.url));
const root = dirname(webDir);
const three = join(root, "node_modules", "three");
const files = [
  ["build/three.module.js", "three.module.js"],
  ["build/three.core.js", "three.core.js"], // three >= r171 splits the module build in two files
  ["examples/jsm/controls/OrbitControls.js", "OrbitControls.js"],
];

if (!existsSync(three)) {
  console.error("vendor: node_modules/three is missing; run `npm ci` first");
  process.exit(1);
}
mkdirSync(join(webDir, "vendor"), { recursive: true });
for (const [from, to] of files) {
  const src = join(three, from);
  if (!existsSync(src)) {
    if (to === "three.core.js") continue; // older three: one file
    console.error(`vendor: ${src} is missing`);
    process.exit(1);
  }
  copyFileSync(src, join(webDir, "vendor", to));
}
console.log(`vendor: copied ${files.length} three.js files into web/vendor/`);
