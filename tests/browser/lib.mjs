// Shared helpers for the browser tests and the screenshot script: Debian's
// Chromium through playwright-core, and the demo app on a free loopback port.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, "../..");
export const target = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(root, "target");
export const demoBin = process.env.TESSERA_DEMO_BIN || join(target, "debug", "tessera-demo");
export const bundle = join(root, "examples", "demo", "static", "supertokens.js");
export const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";
export const artifactsDir = join(target, "browser-artifacts");

/** Fails loudly when something the tests need is missing. */
export function checkPrerequisites() {
  const missing = [];
  if (!existsSync(chromiumPath)) {
    missing.push(`Chromium not found at ${chromiumPath} (apt-get install -y chromium, or set CHROMIUM)`);
  }
  if (!existsSync(bundle)) {
    missing.push(`the supertokens-website bundle is missing: ${bundle} (run examples/demo/web/build.sh)`);
  }
  if (!existsSync(demoBin)) {
    missing.push(`the demo binary is missing: ${demoBin} (cargo build -p tessera-demo)`);
  }
  if (missing.length) {
    throw new Error("browser tests cannot run:\n  - " + missing.join("\n  - "));
  }
}

/** Headless Chromium with flags for a machine without internet access. */
/** Playwright gives every launch a fresh temporary user-data-dir (it refuses
 * a --user-data-dir flag outside launchPersistentContext), and every
 * browser.newContext() is a fresh, incognito-like profile on top of it. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/** A free loopback port (for a server the test starts). */
export async function freePort() {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.unref();
    srv.on("error", fail);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address();
      srv.close(() => ok(port));
    });
  });
}

/**
 * Starts the demo binary on a free loopback port with a fresh SQLite file.
 * `args`: extra flags (e.g. ["--anti-csrf", "via-token", "--blacklisting"]);
 * `bin`: the demo binary (default TESSERA_DEMO_BIN: tessera-demo, or
 * tessera-demo-actix); `host`: the host name in the returned base URL;
 * `fixedAddr`: `args` holds `--addr` already.
 * Returns { base, stop(), log() }.
 */
export async function startDemo(
  args = [],
  { accessTokenValidity = 3, bin = demoBin, host = "127.0.0.1", fixedAddr = false } = {},
) {
  const dir = mkdtempSync(join(tmpdir(), "tessera-demo-"));
  let output = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    // With fixedAddr, `args` carries --addr (the caller needs the port first).
    const port = fixedAddr ? Number(args[args.indexOf("--addr") + 1].split(":")[1]) : await freePort();
    const child = spawn(
      bin,
      [
        ...(fixedAddr ? [] : ["--addr", `127.0.0.1:${port}`]),
        "--database-url", `sqlite://${join(dir, "demo.db")}`,
        "--access-token-validity", String(accessTokenValidity),
        ...args,
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: process.env.RUST_LOG || "info,tessera=debug" } },
    );
    output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    const exited = new Promise((ok) => child.once("exit", (code) => ok(code)));
    const base = `http://${host}:${port}`;
    const started = await Promise.race([
      (async () => {
        for (let i = 0; i < 200; i++) {
          if (output.includes("tessera demo ready: open http://")) return true;
          await new Promise((ok) => setTimeout(ok, 50));
        }
        return false;
      })(),
      exited.then(() => false),
    ]);
    if (started) {
      return {
        base,
        args,
        log: () => output,
        stop: async () => {
          if (child.exitCode === null) {
            child.kill("SIGTERM");
            await Promise.race([exited, new Promise((ok) => setTimeout(ok, 3000))]);
            if (child.exitCode === null) child.kill("SIGKILL");
          }
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    child.kill("SIGKILL");
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`the demo did not start (${bin} ${args.join(" ")}):\n${output}`);
}

/** Saves a screenshot and the page's console log; returns the paths. */
export async function saveArtifacts(name, pages, consoleLogs, serverLog) {
  mkdirSync(artifactsDir, { recursive: true });
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 120);
  const paths = [];
  for (const [i, page] of pages.entries()) {
    if (page.isClosed()) continue;
    const png = join(artifactsDir, `${safe}.tab${i + 1}.png`);
    try {
      await page.screenshot({ path: png, fullPage: true });
      paths.push(png);
    } catch (e) {
      // The page may be gone; the log still helps.
    }
  }
  const log = join(artifactsDir, `${safe}.console.log`);
  writeFileSync(log, consoleLogs.join("\n") + "\n");
  paths.push(log);
  if (serverLog) {
    const srv = join(artifactsDir, `${safe}.server.log`);
    writeFileSync(srv, serverLog);
    paths.push(srv);
  }
  return paths;
}
