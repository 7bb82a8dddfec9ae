// supertokens-website (the real SDK, bundled from npm) against the demo app
// (axum + tessera-axum, or actix-web + tessera-actix: TESSERA_DEMO_BIN, named
// by TESSERA_DEMO_FRAMEWORK) on SQLite in headless Chromium, through the demo
// page. TESSERA_BROWSER_SUITES (e.g. "0,2") runs only those suites. Run with
// tests/browser/run.sh, which builds what this needs and runs both.
//
// Every suite runs the same steps in one transfer mode and anti-CSRF
// mode, against its own demo process (access tokens of 3 s) and, for the
// revoke-with-blacklisting step, a second one started with --blacklisting.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { checkPrerequisites, launchBrowser, saveArtifacts, startDemo } from "./lib.mjs";

const REFRESH = "/auth/session/refresh";

const framework = process.env.TESSERA_DEMO_FRAMEWORK || "axum";
const only = process.env.TESSERA_BROWSER_SUITES?.split(",").map(Number);
const allSuites = [
  { name: "cookie mode, anti-CSRF via-custom-header (rid)", mode: "cookie", antiCsrf: "via-custom-header" },
  { name: "cookie mode, anti-CSRF via-token", mode: "cookie", antiCsrf: "via-token" },
  { name: "header mode", mode: "header", antiCsrf: "none" },
  { name: "header mode, server set to anti-CSRF via-token", mode: "header", antiCsrf: "via-token" },
];
const suites = allSuites
  .map((s, i) => ({ ...s, name: `${framework}: ${s.name}` }))
  .filter((_, i) => !only || only.includes(i));

try {
  checkPrerequisites();
} catch (e) {
  console.error("browser: " + e.message);
  process.exit(1);
}

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** A browser context with network bookkeeping and a console log. */
async function openContext(base, mode, logs) {
  const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const net = { refreshes: [], requests: [], unauthorised: [] };
  context.on("request", (req) => {
    const url = new URL(req.url());
    if (url.pathname === "/favicon.ico") return;
    net.requests.push({ method: req.method(), path: url.pathname, headers: req.headers() });
    if (url.pathname === REFRESH) net.refreshes.push({ at: Date.now() });
  });
  context.on("response", async (res) => {
    const url = new URL(res.url());
    if (res.status() !== 401) return;
    let body = "";
    try {
      body = await res.text();
    } catch {
      // Bodies of finished requests may be gone; the status is enough then.
    }
    net.unauthorised.push({ path: url.pathname, body });
  });
  context.on("console", (m) => logs.push(`[${new Date().toISOString()}] console.${m.type()}: ${m.text()}`));
  context.on("weberror", (e) => logs.push(`[${new Date().toISOString()}] page error: ${e.error()}`));
  const open = async () => {
    const page = await context.newPage();
    await page.goto(`${base}/?mode=${mode}`);
    await page.evaluate(() => window.demo.ready);
    return page;
  };
  return { context, net, open, reset: () => Object.assign(net, { refreshes: [], requests: [], unauthorised: [] }) };
}

// In-page helpers (run inside Chromium through the SDK-intercepted fetch).
async function api(page, method, path, body) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const init = { method, headers: {} };
      if (body !== undefined) {
        init.headers["content-type"] = "application/json";
        init.body = JSON.stringify(body);
      }
      const res = await fetch(path, init);
      const text = await res.text();
      let json = null;
      try {
        json = text ? JSON.parse(text) : null;
      } catch {
        json = { text };
      }
      return { status: res.status, json };
    },
    { method, path, body },
  );
}

const sdk = {
  exists: (page) => page.evaluate(() => supertokens.doesSessionExist()),
  userId: (page) => page.evaluate(() => supertokens.getUserId()),
  payload: (page) => page.evaluate(() => supertokens.getAccessTokenPayloadSecurely()),
  events: (page) => page.evaluate(() => window.demo.events.map((e) => e.action)),
  documentCookies: (page) =>
    page.evaluate(() => Object.fromEntries(document.cookie.split("; ").filter(Boolean).map((c) => c.split(/=(.*)/s, 2)))),
};

/** Waits until the access token the page holds has expired (by the server's clock, same machine). */
async function waitPastExpiry(page) {
  const exp = await page.evaluate(async () => (await supertokens.getAccessTokenPayloadSecurely()).exp);
  const ms = exp * 1000 - Date.now() + 400;
  if (ms > 0) await sleep(ms);
}

/** Refreshes first unless the page's access token is valid for `ms` more. */
async function ensureValidFor(page, ms) {
  const left = await page.evaluate(async () => (await supertokens.getAccessTokenPayloadSecurely()).exp * 1000 - Date.now());
  if (left < ms) assert.equal(await page.evaluate(() => supertokens.attemptRefreshingSession()), true);
}

async function login(page, userId) {
  await page.fill("#user-id", userId);
  await page.click("#login");
  await page.waitForFunction(
    (u) => document.getElementById("status").textContent === "signed in as " + u && !document.getElementById("login").disabled,
    userId,
  );
}

function assertNoTheft(net) {
  const theft = net.unauthorised.filter((u) => u.body.includes("token theft"));
  assert.deepEqual(theft, [], "a 401 'token theft detected' was answered");
}

for (const [index, s] of suites.entries()) {
  describe(s.name, () => {
    const logs = [];
    const state = { failed: false, pages: [] };
    let demo;
    let blacklisting;
    let ctx;
    let page;
    const userId = `user-${s.mode}-${s.antiCsrf}-${index}`;
    let handle;

    before(async () => {
      demo = await startDemo(["--anti-csrf", s.antiCsrf]);
      // Step 7 needs no expiry: longer tokens keep it from racing one.
      blacklisting = await startDemo(["--anti-csrf", s.antiCsrf, "--blacklisting"], { accessTokenValidity: 30 });
    });
    after(async () => {
      await ctx?.context.close();
      await demo?.stop();
      await blacklisting?.stop();
    });

    // One step: skipped after an earlier failure (the steps build on each
    // other); on failure, screenshots and the console log are saved.
    const step = (name, fn) =>
      test(name, async (t) => {
        if (state.failed) {
          t.skip("an earlier step failed");
          return;
        }
        try {
          await fn(t);
        } catch (e) {
          state.failed = true;
          const serverLog = [demo, blacklisting].filter(Boolean).map((d) => `== demo ${d.args.join(" ")}\n${d.log()}`).join("\n");
          const paths = await saveArtifacts(`${s.mode}-${s.antiCsrf}.step${name.split(".")[0]}`, state.pages, logs, serverLog);
          console.error(`browser: "${s.name}" / "${name}" failed; artifacts:\n  ${paths.join("\n  ")}`);
          throw e;
        }
      });

    step("1. log in: doesSessionExist, getUserId and getAccessTokenPayloadSecurely match the server", async () => {
      ctx = await openContext(demo.base, s.mode, logs);
      page = await ctx.open();
      state.pages.push(page);
      await login(page, userId);

      // The server first: if the token expires meanwhile, the SDK refreshes
      // during this call, and what it reads next is the retried call's token.
      const server = await api(page, "GET", "/api/session");
      assert.equal(await sdk.exists(page), true);
      const uid = await sdk.userId(page);
      const up = await sdk.payload(page);
      assert.equal(server.status, 200);
      assert.equal(server.json.transferMethod, s.mode);
      assert.equal(uid, userId);
      assert.equal(server.json.userId, userId);
      assert.equal(up.sub, userId);
      assert.equal(up.sessionHandle, server.json.handle);
      assert.equal(up.exp * 1000, server.json.accessTokenExpiry);
      for (const [k, v] of Object.entries(server.json.payload)) assert.deepEqual(up[k], v, `payload claim ${k}`);
      handle = server.json.handle;
      assert.ok((await sdk.events(page)).includes("SESSION_CREATED"));

      // Where the tokens live.
      const httpCookies = Object.fromEntries((await ctx.context.cookies()).map((c) => [c.name, c]));
      const docCookies = await sdk.documentCookies(page);
      if (s.mode === "cookie") {
        assert.ok(httpCookies.sAccessToken?.httpOnly, "sAccessToken is an HttpOnly cookie");
        assert.equal(httpCookies.sRefreshToken?.path, REFRESH);
        assert.equal(docCookies["st-access-token"], undefined);
        assert.equal("sAntiCsrf" in docCookies, s.antiCsrf === "via-token", "sAntiCsrf only with via-token");
      } else {
        assert.equal(httpCookies.sAccessToken, undefined, "no session cookies in header mode");
        assert.ok(docCookies["st-access-token"] && docCookies["st-refresh-token"], "the SDK keeps header-mode tokens");
        assert.equal(docCookies.sAntiCsrf, undefined, "no anti-CSRF token in header mode");
      }
    });

    step("2. a protected API call succeeds (and a request without the SDK's headers is refused)", async () => {
      ctx.reset();
      const data = { visits: 1, step: 2 };
      const put = await api(page, "PUT", "/api/session/data", { data });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      const get = await api(page, "GET", "/api/session");
      assert.equal(get.status, 200);
      assert.deepEqual(get.json.data, data);

      const sent = ctx.net.requests.findLast((r) => r.method === "PUT" && r.path === "/api/session/data").headers;
      assert.equal(sent["st-auth-mode"], s.mode);
      if (s.mode === "header") {
        assert.match(sent.authorization ?? "", /^Bearer ey/, "header mode sends the access token as a bearer token");
      } else {
        assert.equal(sent.rid, "anti-csrf", "the SDK adds the rid header");
        if (s.antiCsrf === "via-token") {
          const docCookies = await sdk.documentCookies(page);
          assert.ok(sent["anti-csrf"] && sent["anti-csrf"] === docCookies.sAntiCsrf, "the SDK echoes the anti-CSRF token");
        }
        if (s.antiCsrf !== "none") {
          // A cookie-authenticated PUT without rid/anti-csrf, as a cross-site
          // form would send it: the SDK does not intercept this URL. The
          // access token must be valid, or the 401 would only say "expired".
          await ensureValidFor(page, 800);
          const bare = await page.evaluate(async () => {
            const { exp } = await supertokens.getAccessTokenPayloadSecurely();
            const res = await fetch("/api/session/data?superTokensDoNotDoInterception", {
              method: "PUT",
              credentials: "include",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ data: { forged: true } }),
            });
            return { status: res.status, body: await res.text(), validDuring: Date.now() < exp * 1000 };
          });
          assert.ok(bare.validDuring, "the access token was still valid");
          assert.equal(bare.status, 401, `anti-CSRF (${s.antiCsrf}) refuses a request without the SDK's header`);
          assert.deepEqual((await api(page, "GET", "/api/session")).json.data, data);
        }
      }
      assert.equal(await sdk.exists(page), true);
    });

    step("3. after access-token expiry the SDK refreshes by itself: refresh endpoint hit exactly once", async () => {
      await waitPastExpiry(page);
      ctx.reset();
      const eventsBefore = (await sdk.events(page)).length;
      const res = await api(page, "GET", "/api/session");
      assert.equal(res.status, 200, JSON.stringify(res.json));
      assert.equal(res.json.userId, userId);
      assert.equal(ctx.net.refreshes.length, 1, "refresh calls");
      const paths = ctx.net.requests.map((r) => `${r.method} ${r.path}`);
      assert.deepEqual(paths, ["GET /api/session", `POST ${REFRESH}`, "GET /api/session"], "401, refresh, retry");
      assert.ok((await sdk.events(page)).slice(eventsBefore).includes("REFRESH_SESSION"));
      assertNoTheft(ctx.net);
    });

    step("4. two tabs call protected APIs at the same moment after expiry: both succeed, no theft, one session", async (t) => {
      const page2 = await ctx.open();
      state.pages.push(page2);
      assert.equal(await sdk.exists(page2), true, "the second tab shares the session");
      await waitPastExpiry(page);
      ctx.reset();
      const at = Date.now() + 300;
      const results = await Promise.all(
        [page, page2].map((p, i) =>
          p.evaluate(
            async ({ at, i }) => {
              await new Promise((ok) => setTimeout(ok, Math.max(0, at - Date.now())));
              const res = i === 0 ? await fetch("/api/session") : await fetch("/api/sessions");
              return { status: res.status, json: await res.json() };
            },
            { at, i },
          ),
        ),
      );
      assert.deepEqual(results.map((r) => r.status), [200, 200], JSON.stringify(results));
      assertNoTheft(ctx.net);
      const expired = ctx.net.unauthorised.filter((u) => u.path === "/api/session" || u.path === "/api/sessions");
      assert.equal(expired.length, 2, "both tabs' first calls met the expired token: " + JSON.stringify(ctx.net.unauthorised));
      t.diagnostic(ctx.net.requests.map((r) => `${r.method} ${r.path}`).join(", "));
      const refreshed = ctx.net.refreshes.length;
      assert.ok(refreshed >= 1 && refreshed <= 2, `refresh calls: ${refreshed}`);
      if (refreshed !== 1) console.error(`note: ${s.name}: the two tabs refreshed ${refreshed} times`);
      for (const p of [page, page2]) assert.equal(await sdk.exists(p), true);
      const sessions = await api(page2, "GET", "/api/sessions");
      assert.equal(sessions.status, 200);
      assert.deepEqual(sessions.json.handles, [handle], "one session remains, the same one");
      assert.equal((await api(page, "GET", "/api/session")).status, 200);
    });

    step("5. the server updates the JWT payload; the page sees it via getAccessTokenPayloadSecurely", async () => {
      const nonce = `n-${Date.now()}`;
      const eventsBefore = (await sdk.events(page)).length;
      const put = await api(page, "PUT", "/api/session/payload", { payload: { role: "editor", nonce } });
      assert.equal(put.status, 200, JSON.stringify(put.json));
      const up = await sdk.payload(page);
      assert.equal(up.role, "editor");
      assert.equal(up.nonce, nonce);
      assert.equal(up.sessionHandle, handle);
      assert.ok((await sdk.events(page)).slice(eventsBefore).includes("ACCESS_TOKEN_PAYLOAD_UPDATED"));
      const other = state.pages[1];
      assert.equal((await sdk.payload(other)).nonce, nonce, "the other tab sees the new payload too");
      const server = await api(page, "GET", "/api/session");
      assert.deepEqual(server.json.payload, { role: "editor", nonce });
      await page.waitForFunction((n) => document.getElementById("payload").textContent.includes(n), nonce);
    });

    step("6. sign out: doesSessionExist is false and protected calls get 401", async (t) => {
      ctx.reset();
      await page.click("#signout");
      await page.waitForFunction(() => document.getElementById("status").textContent === "signed out");
      // signOut() first asks doesSessionExist(), which refreshes an expired
      // access token; then it calls /auth/signout.
      const calls = ctx.net.requests.map((r) => `${r.method} ${r.path}`);
      assert.equal(calls.at(-1), "POST /auth/signout", calls.join(", "));
      t.diagnostic(calls.join(", "));
      ctx.reset();
      assert.equal(await sdk.exists(page), false);
      const res = await api(page, "GET", "/api/session");
      assert.equal(res.status, 401);
      assert.equal(ctx.net.refreshes.length, 0, "nothing to refresh after sign-out");
      assert.ok((await sdk.events(page)).includes("SIGN_OUT"));
      const httpCookies = (await ctx.context.cookies()).map((c) => c.name);
      assert.ok(!httpCookies.includes("sAccessToken") && !httpCookies.includes("sRefreshToken"), httpCookies.join());
      const docCookies = await sdk.documentCookies(page);
      for (const name of ["sFrontToken", "st-access-token", "st-refresh-token", "sAntiCsrf"]) {
        assert.equal(docCookies[name], undefined, `${name} after sign-out`);
      }
      // The signout revoked the session on the server.
      const again = await fetch(`${demo.base}/api/admin/revoke/${encodeURIComponent(handle)}`, { method: "POST" });
      assert.deepEqual(await again.json(), { revoked: false });
      await ctx.context.close();
      state.pages = [];
      ctx = undefined;
    });

    step("7. blacklisting on: a server-side revoke gives the next call a 401 and the SDK drops the session", async () => {
      ctx = await openContext(blacklisting.base, s.mode, logs);
      page = await ctx.open();
      state.pages.push(page);
      await login(page, userId);
      const before = await api(page, "GET", "/api/session");
      assert.equal(before.status, 200);
      const revoked = await fetch(`${blacklisting.base}/api/admin/revoke/${encodeURIComponent(before.json.handle)}`, { method: "POST" });
      assert.deepEqual(await revoked.json(), { revoked: true });

      ctx.reset();
      const eventsBefore = (await sdk.events(page)).length;
      const res = await api(page, "GET", "/api/session");
      assert.equal(res.status, 401);
      assert.equal(await sdk.exists(page), false);
      assert.ok((await sdk.events(page)).slice(eventsBefore).includes("UNAUTHORISED"), "the SDK reports UNAUTHORISED");
      assert.equal(ctx.net.refreshes.length, 0, "the 401 cleared the tokens, so the SDK did not try to refresh");
      await page.waitForFunction(() => document.getElementById("status").textContent === "signed out");
      await ctx.context.close();
      state.pages = [];
      ctx = undefined;
    });

    step("8. blacklisting off: a server-side revoke ends the session at the next refresh", async () => {
      ctx = await openContext(demo.base, s.mode, logs);
      page = await ctx.open();
      state.pages.push(page);
      await login(page, userId + "-8");
      const session = await api(page, "GET", "/api/session");
      const revoked = await fetch(`${demo.base}/api/admin/revoke/${encodeURIComponent(session.json.handle)}`, { method: "POST" });
      assert.deepEqual(await revoked.json(), { revoked: true });
      await waitPastExpiry(page);
      ctx.reset();
      const eventsBefore = await page.evaluate(() => window.demo.events.length);
      const res = await api(page, "GET", "/api/session");
      assert.equal(res.status, 401);
      assert.equal(ctx.net.refreshes.length, 1, "one refresh attempt");
      assert.equal(await sdk.exists(page), false);
      const events = await page.evaluate((n) => window.demo.events.slice(n), eventsBefore);
      assert.ok(events.some((e) => e.action === "UNAUTHORISED" && e.sessionExpiredOrRevoked), JSON.stringify(events));
      assertNoTheft(ctx.net);
    });
  });
}

describe(`${framework}: the page without the SDK bundle`, () => {
  let demo;
  before(async () => {
    demo = await startDemo(["--static-dir", "/nonexistent/tessera-demo-static"]);
  });
  after(async () => demo?.stop());

  test("says so instead of failing silently", async () => {
    const context = await browser.newContext();
    try {
      const page = await context.newPage();
      await page.goto(demo.base + "/");
      await page.waitForSelector("#sdk-missing:not(.hidden)");
      assert.match(await page.textContent("#sdk-missing"), /examples\/demo\/web\/build\.sh/);
      assert.equal(await page.isVisible("#signed-out"), false);
    } finally {
      await context.close();
    }
  });
});
