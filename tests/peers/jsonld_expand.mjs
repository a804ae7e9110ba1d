// jsonld.js (the reference JSON-LD processor) expanding documents in safe mode, with the
// official contexts as its only document loader. Reads a JSON array of {name, document} on
// stdin, writes [{name, ok, error, expanded}] on stdout. Safe mode turns every lossy step
// (a dropped term, a relative IRI, a protected-term redefinition) into an error.
import jsonld from "jsonld";
import { officialContexts, offlineLoader } from "./contexts.mjs";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const inputs = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const loader = offlineLoader(officialContexts());
const results = [];
for (const { name, document } of inputs) {
  try {
    const expanded = await jsonld.expand(document, { documentLoader: loader, safe: true });
    results.push({ name, ok: true, error: null, expanded });
  } catch (error) {
    const details = error.details ? JSON.stringify(error.details).slice(0, 400) : "";
    results.push({ name, ok: false, error: `${error.name}: ${error.message} ${details}`.trim() });
  }
}
process.stdout.write(JSON.stringify(results));
