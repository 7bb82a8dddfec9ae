// CDI 5.4's refresh model with supertokens-node 24.0.3 against `tessera serve`:
// refresh hands out a child refresh token and an access token carrying
// parentRefreshTokenHash1; the SDK's next getSession asks tessera's verify,
// which promotes the child and answers a new access token; once promoted,
// the parent refresh token is theft. run.sh sets TESSERA_URL and KEY.
const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const assert = require("assert");
const crypto = require("crypto");
supertokens.init({
  framework: "express",
  supertokens: { connectionURI: process.env.TESSERA_URL, apiKey: process.env.KEY },
  appInfo: { appName: "t", apiDomain: "http://localhost:3001", websiteDomain: "http://localhost:3000" },
  recipeList: [Session.init()],
});
const payload = (jwt) => JSON.parse(Buffer.from(jwt.split(".")[1], "base64url").toString());
const hash1 = (t) => crypto.createHash("sha256").update(t).digest("hex");
const VERIFY = 'tessera_http_requests_total{method="POST",endpoint="/recipe/session/verify",status="200"}';
async function metric(name) {
  const r = await fetch(`${process.env.TESSERA_URL}/metrics`, { headers: { "api-key": process.env.KEY } });
  const line = (await r.text()).split("\n").find((l) => l.startsWith(name + " "));
  return line ? Number(line.split(" ").pop()) : 0;
}
async function theft(refreshToken) {
  try {
    await Session.refreshSessionWithoutRequestResponse(refreshToken);
  } catch (e) {
    return e.type === "TOKEN_THEFT_DETECTED" ? e : assert.fail(`expected theft, got ${e.type}: ${e.message}`);
  }
  return assert.fail("expected theft, got a refreshed session");
}
(async () => {
  const { RecipeUserId } = supertokens;
  // Refresh hands out a child; the next verify promotes it.
  const s = await Session.createNewSessionWithoutRequestResponse("public", new RecipeUserId("promo-user"), { role: "x" });
  const parent = s.getAllSessionTokensDangerously().refreshToken;
  const r = await Session.refreshSessionWithoutRequestResponse(parent);
  const child = r.getAllSessionTokensDangerously();
  assert.notStrictEqual(child.refreshToken, parent);
  assert.strictEqual(payload(child.accessToken).parentRefreshTokenHash1, hash1(parent));
  const before = await metric(VERIFY);
  const v = await Session.getSessionWithoutRequestResponse(child.accessToken);
  assert.strictEqual(await metric(VERIFY), before + 1, "the SDK asked tessera's verify");
  const promoted = v.getAllSessionTokensDangerously();
  assert.strictEqual(promoted.accessAndFrontTokenUpdated, true, "verify answered a new access token");
  assert.strictEqual(payload(promoted.accessToken).parentRefreshTokenHash1, null);
  assert.strictEqual(payload(promoted.accessToken).refreshTokenHash1, hash1(child.refreshToken));
  assert.strictEqual(v.getAccessTokenPayload().role, "x");
  await Session.getSessionWithoutRequestResponse(promoted.accessToken);
  assert.strictEqual(await metric(VERIFY), before + 1, "the promoted token verifies locally");

  // The parent after promotion is theft, and the session is gone.
  const e = await theft(parent);
  assert.strictEqual(e.payload.sessionHandle, s.getHandle());
  assert.strictEqual(e.payload.userId, "promo-user");
  assert.strictEqual(await Session.getSessionInformation(s.getHandle()), undefined);

  // Two refreshes with one token before either is used: two children; the
  // one refreshed first is promoted, the other is theft.
  const t = await Session.createNewSessionWithoutRequestResponse("public", new RecipeUserId("promo-user-2"), {});
  const root = t.getAllSessionTokensDangerously().refreshToken;
  const a = (await Session.refreshSessionWithoutRequestResponse(root)).getAllSessionTokensDangerously();
  const b = (await Session.refreshSessionWithoutRequestResponse(root)).getAllSessionTokensDangerously();
  assert.notStrictEqual(a.refreshToken, b.refreshToken);
  await Session.refreshSessionWithoutRequestResponse(a.refreshToken);
  await theft(b.refreshToken);
  console.log("node promotion OK");
})().catch((e) => { console.error(e); process.exit(1); });
