// Prints "N passed, M failed, K skipped" from a mocha-junit-reporter file
// (the root <testsuites> element's totals).
import { readFileSync } from "node:fs";

const xml = readFileSync(process.argv[2], "utf8");
const root = xml.match(/<testsuites\b[^>]*>/);
if (!root) {
    console.error("no <testsuites> element in", process.argv[2]);
    process.exit(2);
}
const attr = name => Number((root[0].match(new RegExp(`\\b${name}="(\\d+)"`)) ?? [])[1] ?? 0);
const tests = attr("tests");
const failed = attr("failures") + attr("errors");
const skipped = attr("skipped");
console.log(`${tests - failed - skipped} passed, ${failed} failed, ${skipped} skipped`);

