// Prints "N passed, M failed, K skipped" from the summary lines of mocha's
// spec reporter ("N passing", "M failing", "K pending"). (The JUnit
// report's totals count every test of a suite, also those --grep left out,
// and leave pending tests out of its <testcase> list.)
import { readFileSync } from "node:fs";

const log = readFileSync(process.argv[2], "utf8");
const count = word => {
    const all = [...log.matchAll(new RegExp(`^\\s+(\\d+) ${word}\\b`, "gm"))];
    return all.length > 0 ? Number(all[all.length - 1][1]) : undefined;
};
const passed = count("passing");
if (passed === undefined) {
    console.error("no mocha summary in", process.argv[2]);
    process.exit(2);
}
console.log(`${passed} passed, ${count("failing") ?? 0} failed, ${count("pending") ?? 0} skipped`);
