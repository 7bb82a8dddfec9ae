// SuperTokens core's older access-token formats and JWT-recipe tokens,
// through supertokens-node 24.0.3 against `tessera serve`. run.sh sets
// TESSERA_URL and KEY.
//
// Legacy tokens are made as supertokens-node's own suite makes them: a
// create speaking an old CDI version (2.18: a v2 token; 3.0: a v4 token).
// Today's SDK must then verify them locally (v2: by trying each JWKS key,
// its header names none) and through the core, merge a claim into a v2
// token (regenerate keeps v2), refresh the session to a v5 token, and take
// a `createJWT` token carrying the session's claims as an access token.
const assert = require("assert");
const { randomUUID } = require("crypto");

const supertokens = require("supertokens-node");
const Session = require("supertokens-node/recipe/session");
const JWT = require("supertokens-node/recipe/jwt");

const url = process.env.TESSERA_URL;
const key = process.env.KEY;

function part(token, i) {
  const raw = token.split(".")[i];
  // v2 is standard base64, v3 and later base64url; Buffer reads both.
  return JSON.parse(Buffer.from(raw, i === 0 && raw.includes("=") ? "base64" : "base64url").toString());
}

async function createAs(cdiVersion, userId, payload) {
  const r = await fetch(`${url}/recipe/session`, {
    method: "POST",
    headers: { "content-type": "application/json", "api-key": key, "cdi-version": cdiVersion, rid: "session" },
    body: JSON.stringify({ userId, enableAntiCsrf: false, userDataInJWT: payload, userDataInDatabase: {} }),
  });
  const text = await r.text();
  assert.strictEqual(r.status, 200, text);
  const body = JSON.parse(text);
  assert.strictEqual(body.status, "OK", text);
  return body;
}

async function main() {
  supertokens.init({
    supertokens: { connectionURI: url, apiKey: key },
    appInfo: { appName: "t", apiDomain: "http://api.test", websiteDomain: "http://web.test" },
    recipeList: [Session.init(), JWT.init()],
  });

  // v2: verified locally and with a database check; a claim merged into it
  // keeps v2; a refresh moves the session to v5.
  const user = `legacy-${randomUUID()}`;
  const v2 = await createAs("2.18", user, { sub: "asdf" });
  const v2Token = v2.accessToken.token;
  assert.strictEqual(part(v2Token, 0).version, "2");
  for (const checkDatabase of [false, true]) {
    const s = await Session.getSessionWithoutRequestResponse(v2Token, undefined, { checkDatabase });
    assert.strictEqual(s.getUserId(), user);
    assert.strictEqual(s.getHandle(), v2.session.handle);
    assert.deepStrictEqual(s.getAccessTokenPayload(), { sub: "asdf" });
  }
  const s = await Session.getSessionWithoutRequestResponse(v2Token);
  await s.mergeIntoAccessTokenPayload({ sub: null, appSub: "asdf" });
  const merged = s.getAllSessionTokensDangerously().accessToken;
  assert.strictEqual(part(merged, 0).version, "2");
  assert.deepStrictEqual(part(merged, 1).userData, { appSub: "asdf" });
  const refreshed = await Session.refreshSessionWithoutRequestResponse(v2.refreshToken.token);
  const v5 = refreshed.getAllSessionTokensDangerously().accessToken;
  assert.strictEqual(part(v5, 0).version, "5");
  assert.strictEqual(part(v5, 1).sub, user);
  assert.strictEqual(part(v5, 1).appSub, "asdf");

  // A revoked v2 session fails the database check.
  const gone = await createAs("2.18", `${user}-2`, {});
  await Session.revokeSession(gone.session.handle);
  await assert.rejects(
    Session.getSessionWithoutRequestResponse(gone.accessToken.token, undefined, { checkDatabase: true }),
    (e) => e.type === Session.Error.UNAUTHORISED,
  );

  // v4 (CDI 3.0): `tId`, no `rsub`; verified with a database check.
  const v4 = await createAs("3.0", `${user}-4`, {});
  assert.strictEqual(part(v4.accessToken.token, 0).version, "4");
  const s4 = await Session.getSessionWithoutRequestResponse(v4.accessToken.token, undefined, { checkDatabase: true });
  assert.deepStrictEqual(
    new Set(Object.keys(s4.getAccessTokenPayload())),
    new Set(["antiCsrfToken", "exp", "iat", "parentRefreshTokenHash1", "refreshTokenHash1", "sessionHandle", "sub", "tId"]),
  );

  // A createJWT token with the session's claims is an access token to the
  // core (and so to tessera serve), with its own validity.
  const session = await Session.createNewSessionWithoutRequestResponse("public", supertokens.convertToRecipeUserId(`${user}-jwt`));
  const jwt = await JWT.createJWT({ ...session.getAccessTokenPayload(), exp: undefined, iat: undefined }, 1234, false);
  assert.strictEqual(jwt.status, "OK");
  assert.strictEqual(part(jwt.jwt, 0).version, undefined);
  const custom = await Session.getSessionWithoutRequestResponse(jwt.jwt, undefined, { checkDatabase: true });
  assert.strictEqual(custom.getHandle(), session.getHandle());
  assert.strictEqual(custom.getAccessTokenPayload().exp - custom.getAccessTokenPayload().iat, 1234);
  // Without the session claims it is no access token.
  const bare = await JWT.createJWT({ sub: "x" }, 60, false);
  await assert.rejects(Session.getSessionWithoutRequestResponse(bare.jwt, undefined, { checkDatabase: true }));

  console.log("node legacy tokens OK");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
