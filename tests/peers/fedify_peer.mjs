// A fediverse server built on Fedify (npm @fedify/fedify, pinned in package.json), run by
// tests/peers/test_fedify.py on a loopback port: `node fedify_peer.mjs PORT`.
//
// Everything federating is Fedify's own code: WebFinger and actor documents, key pairs (RSA for
// HTTP and LD signatures, Ed25519 for FEP-8b32 proofs), lookupObject, sendActivity (which signs
// the request and the activity) and the inbox (which verifies LD signature, then proof, then HTTP
// signature, as federation/handler.ts does). Memory KV, no queue: deliveries and inbox listeners
// run inside the request, so a test knows they are done when its call returns.
//
// Beside the inbox, every POST to it is also checked by Fedify's exported verifiers one by one
// (sig/http.ts verifyRequest, sig/ld.ts verifyJsonLd, sig/proof.ts verifyObject) so a test can
// see which of our signatures Fedify accepts. Test control routes live under /_test/.
import http from "node:http";
import {
  createFederation,
  detachSignature,
  generateCryptoKeyPair,
  getDocumentLoader,
  MemoryKvStore,
  verifyJsonLd,
  verifyObject,
  verifyRequest,
} from "@fedify/fedify";
import { Activity, Endpoints, Note, Object as ApObject, Person } from "@fedify/vocab";
import { preloadedContexts } from "@fedify/vocab-runtime";
import { lookupWebFinger } from "@fedify/webfinger";
import { officialContexts, offlineLoader } from "./contexts.mjs";

const port = Number(process.argv[2]);
const origin = `http://127.0.0.1:${port}`;

// Contexts: Fedify's preloaded ones, then the official npm packages; never fetched.
const contextMisses = [];
const contexts = officialContexts();
for (const [url, doc] of Object.entries(preloadedContexts)) contexts.set(url, doc);
const contextLoader = offlineLoader(contexts, contextMisses);
// Documents (actors, keys, objects) come from loopback nodes.
const fetchLoader = getDocumentLoader({ allowPrivateAddress: true });
const documentLoader = async (url, options) =>
  contexts.has(url) ? contextLoader(url) : fetchLoader(url, options);

// allowPrivateAddress (loopback nodes) excludes custom loader factories, so the federation keeps
// Fedify's own loaders (preloaded contexts; ours are all among them, plus inline terms); the
// verifiers called one by one below use the offline loader, which records any miss.
const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });

const keyPairs = new Map(); // identifier → [rsa, ed25519] CryptoKeyPair
const objects = new Map(); // id → JSON-LD of notes our actors sent
const received = []; // one record per inbox POST
const handled = new Map(); // activity id → what the inbox listener saw

// generateCryptoKeyPair makes 4096-bit RSA keys (seconds each on a busy machine); the tests
// need distinct keys, not strong ones: 2048 bits, as Mastodon uses, through the same WebCrypto.
async function rsaKeyPair() {
  return await crypto.subtle.generateKey(
    {
      name: "RSASSA-PKCS1-v1_5",
      modulusLength: 2048,
      publicExponent: new Uint8Array([1, 0, 1]),
      hash: "SHA-256",
    },
    true,
    ["sign", "verify"],
  );
}

async function actorKeys(identifier) {
  if (!keyPairs.has(identifier)) {
    keyPairs.set(identifier, [await rsaKeyPair(), await generateCryptoKeyPair("Ed25519")]);
  }
  return keyPairs.get(identifier);
}

federation
  .setActorDispatcher("/users/{identifier}", async (ctx, identifier) => {
    if (!keyPairs.has(identifier)) return null;
    const keys = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier),
      preferredUsername: identifier,
      name: `Fedify ${identifier}`,
      inbox: ctx.getInboxUri(identifier),
      endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      url: ctx.getActorUri(identifier),
      publicKey: keys[0].cryptographicKey,
      assertionMethods: keys.map((key) => key.multikey),
    });
  })
  .setKeyPairsDispatcher(async (_ctx, identifier) =>
    keyPairs.has(identifier) ? await actorKeys(identifier) : [],
  );

federation.setObjectDispatcher(Note, "/users/{identifier}/notes/{id}", async (ctx, values) => {
  const json = objects.get(`${origin}/users/${values.identifier}/notes/${values.id}`);
  return json ? await Note.fromJsonLd(json, ctx) : null;
});

federation
  .setInboxListeners("/users/{identifier}/inbox", "/inbox")
  .on(Activity, async (ctx, activity) => {
    handled.set(activity.id?.href, {
      type: activity.constructor.name,
      actor: activity.actorId?.href ?? null,
      object: activity.objectId?.href ?? null,
      recipient: ctx.recipient,
    });
  })
  .onError((_ctx, error) => {
    console.error("inbox error", error);
  });

function errorText(error) {
  return `${error?.name ?? "Error"}: ${error?.message ?? error}`;
}

// Fedify's verifiers, one by one, on one inbox POST (a clone of the request).
async function verifyAll(request, json) {
  const options = { documentLoader, contextLoader };
  const record = { http: null, ld: null, proof: null, errors: {} };
  try {
    const key = await verifyRequest(request, options);
    record.http = key ? { keyId: key.id?.href, owner: key.ownerId?.href } : null;
  } catch (error) {
    record.errors.http = errorText(error);
  }
  try {
    record.ld = "signature" in json ? await verifyJsonLd(json, options) : null;
  } catch (error) {
    record.errors.ld = errorText(error);
    record.ld = false;
  }
  try {
    // As the inbox does: proofs are checked on the document without its LD signature.
    record.proof = "proof" in json
      ? (await verifyObject(Activity, detachSignature(json), options)) != null
      : null;
  } catch (error) {
    record.errors.proof = errorText(error);
    record.proof = false;
  }
  return record;
}

async function control(request, ctx) {
  const url = new URL(request.url);
  const body = request.method === "POST" ? await request.json() : {};
  switch (url.pathname) {
    case "/_test/actors": {
      await actorKeys(body.identifier);
      return { id: ctx.getActorUri(body.identifier).href };
    }
    case "/_test/lookup": {
      // Fedify's own discovery. Its WebFinger client asks https:// for an acct: resource, so on
      // plain-http loopback it is asked for the actor URL (the form getActorHandle uses), and
      // must name the acct: handle and the actor; then Fedify fetches the actor (signed).
      const jrd = await lookupWebFinger(body.query, { allowPrivateAddress: true });
      const self = jrd?.links?.find((link) => link.rel === "self" && link.href)?.href;
      if (self == null) return { found: false, webfinger: jrd };
      const actor = await ctx.lookupObject(self, {
        identifier: body.identifier,
        documentLoader: await ctx.getDocumentLoader({ identifier: body.identifier }),
      });
      if (actor == null) return { found: false };
      const keys = [];
      for await (const key of actor.getPublicKeys()) keys.push(key.id?.href);
      const multikeys = [];
      for await (const key of actor.getAssertionMethods()) multikeys.push(key.id?.href);
      return {
        found: true,
        subject: jrd.subject,
        aliases: jrd.aliases ?? [],
        type: actor.constructor.name,
        id: actor.id?.href,
        inbox: actor.inboxId?.href,
        sharedInbox: actor.endpoints?.sharedInbox?.href ?? null,
        preferredUsername: actor.preferredUsername?.toString() ?? null,
        name: actor.name?.toString() ?? null,
        publicKeys: keys,
        assertionMethods: multikeys,
      };
    }
    case "/_test/fetch": {
      // Any document through Fedify's vocabulary: what it makes of one of our objects.
      const object = await ctx.lookupObject(body.url, {
        documentLoader: await ctx.getDocumentLoader({ identifier: body.identifier }),
      });
      if (object == null) return { found: false };
      return {
        found: true,
        type: object.constructor.name,
        json: await object.toJsonLd({ format: "compact", contextLoader }),
      };
    }
    case "/_test/send": {
      // The test writes the activity; Fedify parses it, signs it (LD signature + proof + HTTP
      // signature) and delivers it to the recipient's inbox.
      const json = body.activity;
      const note = typeof json.object === "object" ? json.object : null;
      if (note?.id) objects.set(note.id, { "@context": json["@context"], ...note });
      const activity = await Activity.fromJsonLd(json, { documentLoader, contextLoader });
      const recipient = await ctx.lookupObject(body.recipient, {
        documentLoader: await ctx.getDocumentLoader({ identifier: body.identifier }),
      });
      if (recipient == null) throw new Error(`cannot look up ${body.recipient}`);
      await ctx.sendActivity({ identifier: body.identifier }, recipient, activity, {
        preferSharedInbox: body.sharedInbox ?? false,
      });
      return { sent: activity.id?.href };
    }
    case "/_test/received":
      return {
        received: received.map((r) => ({ ...r, handled: handled.get(r.activity?.id) ?? null })),
        contextMisses,
      };
    default:
      return null;
  }
}

async function handle(request) {
  const url = new URL(request.url);
  const ctx = federation.createContext(request, undefined);
  if (url.pathname.startsWith("/_test/")) {
    try {
      const answer = await control(request, ctx);
      if (answer == null) return new Response("not found", { status: 404 });
      return Response.json(answer);
    } catch (error) {
      console.error(error);
      return Response.json({ error: errorText(error) }, { status: 500 });
    }
  }
  if (request.method === "POST" && url.pathname.endsWith("/inbox")) {
    const raw = await request.clone().text();
    let json = null;
    try {
      json = JSON.parse(raw);
    } catch {
      // Fedify's inbox answers for itself below.
    }
    const record = { path: url.pathname, activity: json };
    if (json && typeof json === "object") {
      Object.assign(record, await verifyAll(request.clone(), json));
    }
    const response = await federation.fetch(request, { contextData: undefined });
    record.status = response.status;
    received.push(record);
    return response;
  }
  return await federation.fetch(request, { contextData: undefined });
}

const server = http.createServer(async (req, res) => {
  try {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    const hasBody = !["GET", "HEAD"].includes(req.method);
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method,
      headers,
      body: hasBody ? Buffer.concat(chunks) : undefined,
    });
    const response = await handle(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(Buffer.from(await response.arrayBuffer()));
  } catch (error) {
    console.error(error);
    res.writeHead(500, { "content-type": "text/plain" });
    res.end(String(error));
  }
});
server.listen(port, "127.0.0.1", () => console.log(`fedify peer on ${origin}`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
