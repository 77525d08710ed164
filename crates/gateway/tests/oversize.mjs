// Request bodies over the gateway's limit, from Node: the official @upstash/redis SDK and
// Node's own fetch (undici, which the SDK uses) must see the 413 and its JSON error body, never
// a network error (EPIPE / ECONNRESET / "fetch failed").
//
// Run by the Rust test `oversize::node_clients_see_413` (which starts redis-server and a gateway
// with a small limit), or by hand:
//   UPSTASH_REDIS_REST_URL=... UPSTASH_REDIS_REST_TOKEN=... GATEWAY_LIMIT=65536 node oversize.mjs
// GATEWAY_LIMIT is the gateway's max_request_bytes, GATEWAY_DRAIN_LIMIT how many bytes it reads
// of an oversize body before it gives up and closes.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import http from "node:http";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const workspaceRoot = process.env.WORKSPACE_ROOT ?? resolve(here, "../../..");
const pkgDir = join(workspaceRoot, "node_modules", "@upstash", "redis");

function fail(message) {
  console.error(`oversize: FAIL: ${message}`);
  process.exit(1);
}

if (!existsSync(join(pkgDir, "package.json"))) {
  fail(`@upstash/redis is not installed at ${pkgDir} (run \`npm install\` in ${workspaceRoot})`);
}
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const entry = pkg.exports?.["."]?.import ?? pkg.module ?? pkg.main;
const { Redis, errors } = await import(pathToFileURL(join(pkgDir, entry)).href);

const url = process.env.UPSTASH_REDIS_REST_URL;
const token = process.env.UPSTASH_REDIS_REST_TOKEN;
const limit = Number(process.env.GATEWAY_LIMIT);
const drainLimit = Number(process.env.GATEWAY_DRAIN_LIMIT);
if (!url || !token || !(limit > 0) || !(drainLimit > limit)) {
  fail("UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN, GATEWAY_LIMIT and GATEWAY_DRAIN_LIMIT must be set");
}
const auth = { authorization: `Bearer ${token}` };
const prefix = `oversize:${process.pid}:`;
const k = (name) => prefix + name;
const tooLarge = /^ERR max request size exceeded/;
/** The SDK's error for a 413: an UpstashError whose message starts with the gateway's error. */
const is413 = (e) => {
  if (e instanceof errors.UpstashError && tooLarge.test(e.message)) return true;
  throw new Error(`expected the 413's UpstashError, got ${e?.name}: ${String(e?.message).slice(0, 200)}`);
};

let checks = 0;
async function check(name, fn) {
  const started = Date.now();
  try {
    await fn();
    checks += 1;
    console.log(`oversize: ok   ${name} (${Date.now() - started} ms)`);
  } catch (error) {
    fail(`${name}: ${error?.stack ?? error}${error?.cause ? `\ncause: ${error.cause?.stack ?? error.cause}` : ""}`);
  }
}

/** Status, headers and the parsed JSON body of a fetch response; the body must be JSON. */
async function parts(res) {
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error(`body is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, json };
}

/** Asserts the 413 shape real Upstash uses: JSON, one `error` string. */
function assert413({ status, headers, json }) {
  assert.equal(status, 413);
  assert.equal(headers.get("content-type"), "application/json");
  assert.deepEqual(Object.keys(json), ["error"]);
  assert.match(json.error, tooLarge);
  assert.ok(json.error.includes(String(limit)), `the limit is named: ${json.error}`);
}

// Retries stay on (the SDK default): a network error would be retried and then thrown as
// "fetch failed"; a 413 is thrown at once as an UpstashError.
const redis = new Redis({ url, token, enableAutoPipelining: false });
// Just under the drain limit: the largest body still answered 413 on a kept connection, and
// larger than loopback's socket buffers, so a gateway that closes without reading the body
// breaks the client's write (what `fetch failed` was).
const over = "x".repeat(drainLimit - 4096);

await check("SDK: SET with a value over the limit is an UpstashError carrying the 413's message", async () => {
  const started = Date.now();
  const error = await redis.set(k("big"), over).then(
    () => null,
    (e) => e,
  );
  assert.ok(error, "the SET must fail");
  is413(error);
  assert.ok(Date.now() - started < 2000, "no retries: answered at once");
  assert.equal(await redis.exists(k("big")), 0, "nothing was written");
});

await check("SDK: the same client keeps working (the connection was drained, not broken)", async () => {
  for (let i = 0; i < 5; i++) {
    await assert.rejects(redis.set(k("big"), over), is413);
    assert.equal(await redis.set(k("small"), "y".repeat(limit / 2)), "OK");
  }
  assert.equal(await redis.strlen(k("small")), limit / 2);
});

await check("SDK: a pipeline over the limit gets the 413", async () => {
  const p = redis.pipeline();
  for (let i = 0; i < 4; i++) p.set(k(`p${i}`), "z".repeat(limit / 2));
  await assert.rejects(p.exec(), is413);
  assert.equal(await redis.exists(k("p0"), k("p1"), k("p2"), k("p3")), 0);
});

await check("SDK: a transaction over the limit gets the 413", async () => {
  const tx = redis.multi();
  tx.set(k("t"), over);
  await assert.rejects(tx.exec(), is413);
  assert.equal(await redis.exists(k("t")), 0);
});

await check("SDK: many oversize commands at once all get the 413", async () => {
  const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => redis.set(k(`c${i}`), over)));
  for (const r of results) {
    assert.equal(r.status, "rejected");
    is413(r.reason);
  }
});

await check("fetch: Content-Length body over the limit", async () => {
  const res = await fetch(`${url}/set/${k("f")}`, { method: "POST", headers: auth, body: Buffer.alloc(drainLimit - 4096, 0x61) });
  assert413(await parts(res));
});

await check("fetch: JSON command over the limit", async () => {
  const res = await fetch(url, { method: "POST", headers: auth, body: JSON.stringify(["SET", k("f"), over]) });
  assert413(await parts(res));
});

await check("fetch: chunked (streamed) body over the limit", async () => {
  const chunk = new Uint8Array(16 * 1024).fill(0x62);
  let sent = 0;
  const body = new ReadableStream({
    pull(controller) {
      if (sent >= drainLimit - chunk.length) return controller.close();
      sent += chunk.length;
      controller.enqueue(chunk);
    },
  });
  const res = await fetch(`${url}/set/${k("f")}`, { method: "POST", headers: auth, body, duplex: "half" });
  assert413(await parts(res));
});

await check("fetch: exactly the drain limit is still answered 413", async () => {
  const res = await fetch(`${url}/set/${k("f")}`, { method: "POST", headers: auth, body: Buffer.alloc(drainLimit, 0x63) });
  assert413(await parts(res));
});

await check("fetch: 50 oversize requests in a row on keep-alive, then a normal one", async () => {
  for (let i = 0; i < 50; i++) {
    const res = await fetch(`${url}/set/${k("f")}`, { method: "POST", headers: auth, body: Buffer.alloc(limit + 1, 0x64) });
    assert413(await parts(res));
  }
  const res = await fetch(`${url}/set/${k("f")}`, { method: "POST", headers: auth, body: "ok" });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { result: "OK" });
});

await check("fetch: at the limit exactly is accepted", async () => {
  const res = await fetch(`${url}/set/${k("edge")}`, { method: "POST", headers: auth, body: Buffer.alloc(limit, 0x65) });
  assert.equal(res.status, 200);
  assert.equal(await redis.strlen(k("edge")), limit);
});

await check("node:http with Expect: 100-continue gets the 413 without sending the body", async () => {
  const { status, body, continued } = await new Promise((resolveReq, reject) => {
    const req = http.request(`${url}/set/${k("e")}`, {
      method: "POST",
      headers: { ...auth, "content-length": String(limit * 2), expect: "100-continue" },
    });
    let continued = false;
    req.on("continue", () => {
      continued = true;
      req.end(Buffer.alloc(limit * 2, 0x66));
    });
    req.on("response", (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolveReq({ status: res.statusCode, body: Buffer.concat(chunks).toString(), continued }));
    });
    req.on("error", reject);
  });
  assert.equal(continued, false, "no 100 Continue for a declared oversize body");
  assert.equal(status, 413);
  assert.match(JSON.parse(body).error, tooLarge);
});

await check("far over the drain limit: the gateway closes, and keeps serving", async () => {
  // Past GATEWAY_DRAIN_LIMIT the gateway stops reading: the client may see the 413 or a
  // broken pipe, whichever its socket reports first. Either way nothing is written.
  const res = await fetch(`${url}/set/${k("huge")}`, {
    method: "POST",
    headers: auth,
    body: Buffer.alloc(drainLimit * 8, 0x67),
  }).then(
    (r) => r.status,
    (e) => e.cause?.code ?? e.message,
  );
  console.log(`oversize:      ${drainLimit * 8} bytes -> ${res}`);
  assert.equal(await redis.exists(k("huge")), 0);
  assert.equal(await redis.ping(), "PONG");
});

await check("cleanup", async () => {
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
});

console.log(`oversize: ${checks} checks passed`);
