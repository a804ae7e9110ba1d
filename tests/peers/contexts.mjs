// The official JSON-LD contexts, from the npm packages their maintainers publish (pinned in
// package.json): the one document loader of every Node peer here, so nothing is fetched.
// `node contexts.mjs` prints them as one JSON object {url: document}, which the bovine peer
// seeds its context cache with.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

// The scripts run from .cache/peers/node/ (tests/peers/tools.py copies them there, beside
// node_modules), so packages resolve as in any npm project.
const require = createRequire(import.meta.url);

const PACKAGES = [
  "@digitalbazaar/security-context", // security v1, v2
  "did-context", // https://www.w3.org/ns/did/v1 (bovine sends it)
  "@digitalbazaar/multikey-context", // https://w3id.org/security/multikey/v1
  "@digitalbazaar/data-integrity-context", // data-integrity v1, v2
  "ed25519-signature-2020-context",
  "credentials-context",
];

export function officialContexts() {
  const contexts = new Map();
  const as = require.resolve("activitystreams-context/context.json");
  contexts.set("https://www.w3.org/ns/activitystreams", JSON.parse(readFileSync(as, "utf8")));
  for (const name of PACKAGES) {
    for (const [url, doc] of require(name).contexts) contexts.set(url, doc);
  }
  return contexts;
}

// A jsonld.js documentLoader over `contexts`; an unknown URL is an error, never a fetch.
export function offlineLoader(contexts, misses = []) {
  return async (url) => {
    const document = contexts.get(url) ?? contexts.get(url.replace(/#.*$/, ""));
    if (document === undefined) {
      misses.push(url);
      throw new Error(`context ${url} is not bundled (no fetching in tests)`);
    }
    return { contextUrl: null, documentUrl: url, document };
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(JSON.stringify(Object.fromEntries(officialContexts())));
}
