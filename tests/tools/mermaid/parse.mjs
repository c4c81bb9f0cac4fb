// Parses Mermaid diagrams with the real mermaid parser; exit 1 with the error on invalid input.
import { JSDOM } from "jsdom";
import { readFileSync } from "node:fs";
const dom = new JSDOM("<!DOCTYPE html><body></body>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });
let failed = 0;
for (const file of process.argv.slice(2)) {
  try {
    const result = await mermaid.parse(readFileSync(file, "utf8"));
    console.log(`${file}: ${result.diagramType}`);
  } catch (error) {
    console.error(`${file}: ${error.message ?? error}`);
    failed = 1;
  }
}
process.exit(failed);
