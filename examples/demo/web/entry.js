// The demo page's copy of supertokens-website (CommonJS on npm): build.sh
// bundles it with esbuild into ../static/supertokens.js, one script that
// sets `window.supertokens` (init, doesSessionExist, getUserId,
// getAccessTokenPayloadSecurely, attemptRefreshingSession, signOut, …) and
// `window.supertokensVersion`.
window.supertokens = require("supertokens-website");
window.supertokensVersion = require("supertokens-website/lib/build/version").package_version;
