// Makes a supertokens-website checkout installable from the npm registry
// alone: its package-lock.json resolves browser-tabs-lock through a GitHub
// SSH URL (swapped here for the registry tarball of the same version) and
// the dev-only mocha-split-tests from GitHub (dropped: the suite is run
// whole, not split across CI nodes). Idempotent. Usage: node offline-lock.mjs <checkout>
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const dir = process.argv[2];
if (!dir) {
    console.error("usage: node offline-lock.mjs <supertokens-website checkout>");
    process.exit(2);
}
const TABS_LOCK = {
    version: "1.3.0",
    resolved: "https://registry.npmjs.org/browser-tabs-lock/-/browser-tabs-lock-1.3.0.tgz",
    integrity: "sha512-g6nHaobTiT0eMZ7jh16YpD2kcjAp+PInbiVq3M1x6KKaEIVhT4v9oURNIpZLOZ3LQbQ3XYfNhMAb/9hzNLIWrw=="
};

const pkgPath = join(dir, "package.json");
const pkg = JSON.parse(readFileSync(pkgPath, "utf8"));
delete pkg.devDependencies?.["mocha-split-tests"];
writeFileSync(pkgPath, JSON.stringify(pkg, null, 2) + "\n");

const lockPath = join(dir, "package-lock.json");
const lock = JSON.parse(readFileSync(lockPath, "utf8"));
const root = lock.packages?.[""];
if (root?.devDependencies) delete root.devDependencies["mocha-split-tests"];
for (const key of Object.keys(lock.packages ?? {})) {
    if (key === "node_modules/mocha-split-tests" || key.startsWith("node_modules/mocha-split-tests/")) {
        delete lock.packages[key];
    }
}
const tabs = lock.packages?.["node_modules/browser-tabs-lock"];
if (tabs) {
    tabs.version = TABS_LOCK.version;
    tabs.resolved = TABS_LOCK.resolved;
    tabs.integrity = TABS_LOCK.integrity;
}
if (lock.dependencies) {
    delete lock.dependencies["mocha-split-tests"];
    const old = lock.dependencies["browser-tabs-lock"];
    if (old) {
        lock.dependencies["browser-tabs-lock"] = {
            version: TABS_LOCK.version,
            resolved: TABS_LOCK.resolved,
            integrity: TABS_LOCK.integrity,
            requires: old.requires
        };
    }
}
writeFileSync(lockPath, JSON.stringify(lock, null, 2) + "\n");
console.log("website-suite: lock file of", dir, "now resolves from the npm registry only");
