// examples/form-login in Chromium: a plain HTML form (no SDK) signs in and
// out. TokenTransferPolicy::CookieForBrowsers must recognise the real
// browser by its Sec-Fetch-* headers and answer with cookies.
// TESSERA_FORM_LOGIN_BIN: the tessera-form-login-example binary.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { freePort, launchBrowser, target } from "./lib.mjs";

const bin = process.env.TESSERA_FORM_LOGIN_BIN || join(target, "debug", "tessera-form-login-example");

let browser;
let server;
let base;
before(async () => {
  browser = await launchBrowser();
  const port = await freePort();
  server = spawn(bin, [], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, TESSERA_ADDR: `127.0.0.1:${port}`, TESSERA_DATABASE_URL: "memory:", TESSERA_COOKIE_SECURE: "false" },
  });
  let output = "";
  server.stdout.on("data", (d) => (output += d));
  server.stderr.on("data", (d) => (output += d));
  for (let i = 0; i < 200 && !output.includes("form login on http://"); i++) {
    await new Promise((ok) => setTimeout(ok, 50));
  }
  assert.ok(output.includes("form login on http://"), "the form-login example did not start:\n" + output);
  base = `http://localhost:${port}`;
});
after(async () => {
  await browser?.close();
  server?.kill("SIGTERM");
});

test("form-login: a plain HTML form gets session cookies in a real browser, and signs out", async () => {
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    await page.goto(base + "/");
    await page.fill("#user", "form-user");
    await Promise.all([page.waitForNavigation(), page.click("#login")]);
    assert.match(await page.textContent("#who"), /Signed in as form-user/);
    const names = (await context.cookies(base)).map((c) => c.name);
    assert.ok(names.includes("sAccessToken"), names.join(","));
    await page.reload();
    assert.match(await page.textContent("#who"), /Signed in as form-user/, "the cookie carries the session");
    await Promise.all([page.waitForNavigation(), page.click("#logout")]);
    assert.equal(await page.isVisible("#user"), true);
    const left = (await context.cookies(base)).map((c) => c.name);
    assert.ok(!left.includes("sAccessToken"), left.join(","));
  } finally {
    await context.close();
  }
});
