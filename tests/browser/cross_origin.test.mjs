// supertokens-website on a page of one origin talking to an API on another
// (http://localhost:A → http://localhost:B: one site, two origins), through
// each adapter's cors() (tower-http's CorsLayer for the axum demo,
// actix-cors for the actix one), in cookie and header mode: the
// preflights pass with the SDK's headers, the SDK reads the exposed
// front-token (and st-access-token), the credentials travel, a refresh
// happens across origins, and a page from an origin not on the list gets
// nothing. TESSERA_DEMO_BIN / TESSERA_DEMO_ACTIX_BIN: the two demo binaries.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { demoBin, freePort, launchBrowser, startDemo, target } from "./lib.mjs";

const bins = {
  axum: demoBin,
  actix: process.env.TESSERA_DEMO_ACTIX_BIN || join(target, "debug", "tessera-demo-actix"),
};

/** A page server on localhost:port: one page that loads the SDK from `api`. */
async function startPage(api) {
  const port = await freePort();
  const html = `<!doctype html><html><head><meta charset="utf-8"></head><body>
<script src="${api}/static/supertokens.js"></script>
<script>
window.call = async (method, path, body) => {
  const init = { method, credentials: "include", headers: {} };
  if (body !== undefined) { init.headers["content-type"] = "application/json"; init.body = JSON.stringify(body); }
  try {
    const res = await fetch("${api}" + path, init);
    return { status: res.status, json: await res.json().catch(() => null) };
  } catch (e) {
    return { error: String(e) };
  }
};
</script></body></html>`;
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(html);
  });
  await new Promise((ok) => server.listen(port, "127.0.0.1", ok));
  return { origin: `http://localhost:${port}`, stop: () => new Promise((ok) => server.close(ok)) };
}

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

for (const [framework, bin] of Object.entries(bins))
for (const mode of ["cookie", "header"]) {
  describe(`${framework}: page and API on different origins, ${mode} mode`, () => {
    let api;
    let page;
    let stranger;
    before(async () => {
      const apiPort = await freePort();
      page = await startPage(`http://localhost:${apiPort}`);
      stranger = await startPage(`http://localhost:${apiPort}`);
      // The demo picks its own port; the page needs it first, so start the
      // API where the page expects it through --addr.
      api = await startDemo(["--addr", `127.0.0.1:${apiPort}`, "--cors-origin", page.origin], {
        bin,
        host: "localhost",
        fixedAddr: true,
      });
    });
    after(async () => {
      await api?.stop();
      await page?.stop();
      await stranger?.stop();
    });

    test("log in, call, refresh after expiry, sign out: all across origins", async () => {
      const context = await browser.newContext();
      const refreshes = [];
      context.on("request", (r) => {
        if (new URL(r.url()).pathname === "/auth/session/refresh" && r.method() === "POST") refreshes.push(r.url());
      });
      try {
        const tab = await context.newPage();
        await tab.goto(page.origin + "/");
        await tab.evaluate(
          ({ api, mode }) => supertokens.init({ apiDomain: api, apiBasePath: "/auth", tokenTransferMethod: mode }),
          { api: api.base, mode },
        );
        const login = await tab.evaluate(() => call("POST", "/api/login", { userId: "cross-origin" }));
        assert.equal(login.status, 200, JSON.stringify(login));
        assert.equal(login.json.transferMethod, mode);
        assert.equal(await tab.evaluate(() => supertokens.doesSessionExist()), true, "the SDK read the exposed front-token");
        assert.equal(await tab.evaluate(() => supertokens.getUserId()), "cross-origin");

        const me = await tab.evaluate(() => call("GET", "/api/session"));
        assert.equal(me.status, 200, JSON.stringify(me));
        assert.equal(me.json.transferMethod, mode);

        // Past the 3 s access token: the SDK refreshes across origins.
        const exp = await tab.evaluate(async () => (await supertokens.getAccessTokenPayloadSecurely()).exp);
        await sleep(Math.max(0, exp * 1000 - Date.now() + 400));
        const again = await tab.evaluate(() => call("GET", "/api/session"));
        assert.equal(again.status, 200, JSON.stringify(again));
        assert.ok(refreshes.length >= 1, "a refresh went to the API");

        await tab.evaluate(() => supertokens.signOut());
        assert.equal(await tab.evaluate(() => supertokens.doesSessionExist()), false);
        const gone = await tab.evaluate(() => call("GET", "/api/session"));
        assert.equal(gone.status, 401);
      } finally {
        await context.close();
      }
    });

    test("an origin not on the list cannot read the API's answers", async () => {
      const context = await browser.newContext();
      try {
        const tab = await context.newPage();
        await tab.goto(stranger.origin + "/");
        await tab.evaluate(
          ({ api, mode }) => supertokens.init({ apiDomain: api, apiBasePath: "/auth", tokenTransferMethod: mode }),
          { api: api.base, mode },
        );
        const login = await tab.evaluate(() => call("POST", "/api/login", { userId: "stranger" }));
        assert.ok(login.error, "the browser refused the cross-origin call: " + JSON.stringify(login));
        assert.equal(await tab.evaluate(() => supertokens.doesSessionExist()), false);
      } finally {
        await context.close();
      }
    });
  });
}
