// Conformance of the gateway with the official @upstash/redis TypeScript SDK.
//
// Run by the Rust test `sdk::conformance` (which starts redis-server and the gateway), or by hand:
//   UPSTASH_REDIS_REST_URL=http://127.0.0.1:8079 UPSTASH_REDIS_REST_TOKEN=... node conformance.mjs
// The SDK is loaded from the workspace root's node_modules (`npm install` there). Every result is
// checked; the first mismatch exits non-zero with a message naming the check.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const workspaceRoot = process.env.WORKSPACE_ROOT ?? resolve(here, "../../..");
const pkgDir = join(workspaceRoot, "node_modules", "@upstash", "redis");

function fail(message) {
  console.error(`conformance: FAIL: ${message}`);
  process.exit(1);
}

if (!existsSync(join(pkgDir, "package.json"))) {
  fail(`@upstash/redis is not installed at ${pkgDir} (run \`npm install\` in ${workspaceRoot})`);
}
const pkg = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8"));
const entry = pkg.exports?.["."]?.import ?? pkg.module ?? pkg.main;
const { Redis } = await import(pathToFileURL(join(pkgDir, entry)).href);

const url = process.env.UPSTASH_REDIS_REST_URL;
const token = process.env.UPSTASH_REDIS_REST_TOKEN;
if (!url || !token) fail("UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN must be set");

// Keys are prefixed so runs never collide with other data in the same Redis.
const prefix = `conf:${process.pid}:${Date.now()}:`;
const k = (name) => prefix + name;

let checks = 0;
async function check(name, fn) {
  try {
    await fn();
    checks += 1;
  } catch (error) {
    fail(`${name}: ${error?.stack ?? error}`);
  }
}

async function stats() {
  const res = await fetch(`${url}/__gateway/stats`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, "stats endpoint status");
  return res.json();
}

async function suite(label, redis) {
  const n = (name) => k(`${label}:${name}`);

  await check(`${label}: ping`, async () => {
    assert.equal(await redis.ping(), "PONG");
  });

  await check(`${label}: strings`, async () => {
    assert.equal(await redis.set(n("s"), "hello"), "OK");
    assert.equal(await redis.get(n("s")), "hello");
    assert.equal(await redis.get(n("missing")), null);
    assert.equal(await redis.append(n("s"), " world"), 11);
    assert.equal(await redis.strlen(n("s")), 11);
    assert.equal(await redis.getrange(n("s"), 0, 4), "hello");
    const unicode = "héllo ✓ 🚀 \"quoted\" \\ back";
    await redis.set(n("u"), unicode);
    assert.equal(await redis.get(n("u")), unicode);
    assert.equal(await redis.mset({ [n("m1")]: "a", [n("m2")]: "b" }), "OK");
    assert.deepEqual(await redis.mget(n("m1"), n("m2"), n("missing")), ["a", "b", null]);
    assert.equal(await redis.exists(n("m1"), n("m2"), n("missing")), 2);
    assert.equal(await redis.del(n("m1"), n("m2")), 2);
    assert.equal(await redis.set(n("s"), "x", { nx: true }), null);
    assert.equal(await redis.getdel(n("s")), "hello world");
    assert.equal(await redis.echo("echo me"), "echo me");
  });

  await check(`${label}: counters`, async () => {
    assert.equal(await redis.incr(n("c")), 1);
    assert.equal(await redis.incrby(n("c"), 41), 42);
    assert.equal(await redis.decr(n("c")), 41);
    assert.equal(await redis.decrby(n("c"), 1), 40);
    assert.equal(await redis.incrbyfloat(n("c"), 0.5), 40.5);
    // Numbers are stored as strings and auto-deserialised back to numbers.
    await redis.set(n("num"), 42);
    assert.equal(await redis.get(n("num")), 42);
    await redis.set(n("not-int"), "abc");
    await assert.rejects(redis.incr(n("not-int")), /ERR value is not an integer/);
  });

  await check(`${label}: expiry`, async () => {
    assert.equal(await redis.set(n("e"), "v", { ex: 100 }), "OK");
    const ttl = await redis.ttl(n("e"));
    assert.ok(ttl > 90 && ttl <= 100, `ttl ${ttl}`);
    assert.equal(await redis.persist(n("e")), 1);
    assert.equal(await redis.ttl(n("e")), -1);
    assert.equal(await redis.expire(n("e"), 50), 1);
    const pttl = await redis.pttl(n("e"));
    assert.ok(pttl > 40_000 && pttl <= 50_000, `pttl ${pttl}`);
    await redis.set(n("px"), "v", { px: 60_000 });
    assert.ok((await redis.pttl(n("px"))) > 50_000);
    await redis.setex(n("sx"), 30, "v");
    assert.ok((await redis.ttl(n("sx"))) > 20);
    assert.equal(await redis.ttl(n("missing")), -2);
  });

  await check(`${label}: hashes`, async () => {
    assert.equal(await redis.hset(n("h"), { name: "btc", count: 3, nested: { a: 1 } }), 3);
    assert.equal(await redis.hget(n("h"), "name"), "btc");
    assert.equal(await redis.hget(n("h"), "count"), 3);
    assert.deepEqual(await redis.hget(n("h"), "nested"), { a: 1 });
    assert.deepEqual(await redis.hgetall(n("h")), { name: "btc", count: 3, nested: { a: 1 } });
    assert.equal(await redis.hgetall(n("missing")), null);
    assert.equal(await redis.hincrby(n("h"), "count", 2), 5);
    assert.equal(await redis.hexists(n("h"), "name"), 1);
    assert.equal(await redis.hlen(n("h")), 3);
    assert.deepEqual((await redis.hkeys(n("h"))).sort(), ["count", "name", "nested"]);
    assert.deepEqual(await redis.hmget(n("h"), "name", "missing"), { name: "btc", missing: null });
    assert.equal(await redis.hdel(n("h"), "nested"), 1);
  });

  await check(`${label}: lists`, async () => {
    assert.equal(await redis.rpush(n("l"), "a", "b", "c"), 3);
    assert.equal(await redis.lpush(n("l"), "z"), 4);
    assert.deepEqual(await redis.lrange(n("l"), 0, -1), ["z", "a", "b", "c"]);
    assert.equal(await redis.llen(n("l")), 4);
    assert.equal(await redis.lindex(n("l"), 1), "a");
    assert.equal(await redis.lpop(n("l")), "z");
    assert.equal(await redis.rpop(n("l")), "c");
    assert.deepEqual(await redis.lrange(n("l"), 0, -1), ["a", "b"]);
    assert.deepEqual(await redis.lrange(n("missing"), 0, -1), []);
  });

  await check(`${label}: sets`, async () => {
    assert.equal(await redis.sadd(n("set"), "x", "y", "z"), 3);
    assert.equal(await redis.sadd(n("set"), "x"), 0);
    assert.deepEqual((await redis.smembers(n("set"))).sort(), ["x", "y", "z"]);
    assert.equal(await redis.sismember(n("set"), "y"), 1);
    assert.equal(await redis.scard(n("set")), 3);
    assert.equal(await redis.srem(n("set"), "y"), 1);
    assert.deepEqual((await redis.smembers(n("set"))).sort(), ["x", "z"]);
  });

  await check(`${label}: sorted sets`, async () => {
    assert.equal(await redis.zadd(n("z"), { score: 1, member: "one" }, { score: 2.5, member: "two" }), 2);
    assert.equal(await redis.zscore(n("z"), "two"), 2.5);
    assert.deepEqual(await redis.zrange(n("z"), 0, -1), ["one", "two"]);
    assert.deepEqual(await redis.zrange(n("z"), 0, -1, { withScores: true }), ["one", 1, "two", 2.5]);
    assert.equal(await redis.zcard(n("z")), 2);
  });

  // What the changes feed sends (symbols-core `feed`): XADD with an explicit id and an exact
  // MAXLEN, XRANGE / XREVRANGE with exclusive starts and COUNT, XINFO STREAM, ZSCORE.
  await check(`${label}: streams`, async () => {
    const s = n("stream");
    const event = { type: "status", symbol: "BTCUSDT", from: "TRADING", to: "BREAK" };
    assert.equal(await redis.xadd(s, "1700000000001-0", { event }), "1700000000001-0");
    assert.equal(await redis.xadd(s, "1700000000001-1", { event: { type: "listed" } }), "1700000000001-1");
    const auto = await redis.xadd(s, "*", { plain: "text" });
    assert.match(auto, /^[0-9]+-[0-9]+$/);
    await assert.rejects(redis.xadd(s, "1-0", { late: 1 }), /equal or smaller than the target stream top item/);
    assert.equal(await redis.xlen(s), 3);
    // Values come back as stored; the SDK parses the JSON ones.
    assert.deepEqual(await redis.xrange(s, "-", "+", 2), {
      "1700000000001-0": { event },
      "1700000000001-1": { event: { type: "listed" } },
    });
    assert.deepEqual(Object.keys(await redis.xrange(s, "(1700000000001-0", "+")), ["1700000000001-1", auto]);
    assert.deepEqual(Object.keys(await redis.xrevrange(s, "+", "-", 1)), [auto]);
    assert.deepEqual(await redis.xrange(n("no-stream"), "-", "+"), {});
    // An exact MAXLEN trims the oldest in the same command.
    const last = await redis.xadd(s, "*", { last: "x" }, { trim: { type: "MAXLEN", threshold: 2, comparison: "=" } });
    assert.equal(await redis.xlen(s), 2);
    assert.deepEqual(Object.keys(await redis.xrange(s, "-", "+")), [auto, last]);
    if (typeof redis.exec === "function") {
      // Raw replies, as our Rust client reads them: nested arrays of strings.
      const raw = await redis.exec(["XRANGE", s, "-", "+", "COUNT", "1"]);
      assert.equal(raw.length, 1);
      assert.equal(raw[0][0], auto);
      assert.deepEqual(raw[0][1], ["plain", "text"]);
      const info = await redis.exec(["XINFO", "STREAM", s]);
      const field = (name) => info[info.indexOf(name) + 1];
      assert.equal(field("length"), 2);
      assert.equal(field("entries-added"), 4);
      assert.equal(field("recorded-first-entry-id"), auto);
      assert.equal(field("max-deleted-entry-id"), "0-0", "trimming is not a deletion");
      await assert.rejects(redis.exec(["XINFO", "STREAM", n("no-stream")]), /no such key/);
    }
    assert.equal(await redis.zadd(n("versions"), { score: 1700000000001, member: "0123456789abcdef" }), 1);
    assert.equal(await redis.zscore(n("versions"), "0123456789abcdef"), 1700000000001);
    assert.equal(await redis.zscore(n("versions"), "missing"), null);
    assert.equal(await redis.zremrangebyrank(n("versions"), 0, -2), 0);
  });

  await check(`${label}: json values`, async () => {
    const value = { symbols: ["BTCUSDT", "ETHUSDT"], meta: { count: 2, ok: true, none: null } };
    assert.equal(await redis.set(n("json"), value), "OK");
    assert.deepEqual(await redis.get(n("json")), value);
    await redis.set(n("arr"), [1, "two", { three: 3 }]);
    assert.deepEqual(await redis.get(n("arr")), [1, "two", { three: 3 }]);
  });

  await check(`${label}: scan and keys`, async () => {
    await redis.set(n("scan:1"), "1");
    await redis.set(n("scan:2"), "2");
    const found = new Set();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, { match: n("scan:*"), count: 100 });
      keys.forEach((key) => found.add(key));
      cursor = String(next);
    } while (cursor !== "0");
    assert.deepEqual([...found].sort(), [n("scan:1"), n("scan:2")]);
    assert.deepEqual((await redis.keys(n("scan:*"))).sort(), [n("scan:1"), n("scan:2")]);
  });

  await check(`${label}: eval`, async () => {
    assert.equal(await redis.eval("return ARGV[1]", [], ["lua"]), "lua");
    assert.equal(await redis.eval("return redis.call('INCRBY', KEYS[1], ARGV[1])", [n("lua")], [7]), 7);
  });

  await check(`${label}: pipeline`, async () => {
    const p = redis.pipeline();
    p.set(n("p1"), "one").get(n("p1")).incr(n("p2")).hset(n("p3"), { f: "v" }).hgetall(n("p3")).get(n("missing"));
    assert.deepEqual(await p.exec(), ["OK", "one", 1, 1, { f: "v" }, null]);
  });

  await check(`${label}: pipeline with a failing command`, async () => {
    await redis.set(n("pf"), "text");
    const p = redis.pipeline();
    p.set(n("pf2"), "ok").incr(n("pf")).get(n("pf2"));
    const results = await p.exec({ keepErrors: true });
    assert.equal(results.length, 3);
    assert.equal(results[0].result, "OK");
    assert.match(results[1].error, /ERR value is not an integer/);
    assert.equal(results[2].result, "ok");
    const q = redis.pipeline();
    q.incr(n("pf")).get(n("pf2"));
    await assert.rejects(q.exec(), /Command 1 \[ incr \] failed: ERR value is not an integer/);
  });

  await check(`${label}: transaction`, async () => {
    const tx = redis.multi();
    tx.set(n("t1"), "a").incr(n("t2")).incr(n("t2")).get(n("t1")).lpush(n("t3"), "x");
    assert.deepEqual(await tx.exec(), ["OK", 1, 2, "a", 1]);
  });

  await check(`${label}: transaction with a runtime error`, async () => {
    await redis.set(n("te"), "text");
    const tx = redis.multi();
    tx.set(n("te2"), "b").incr(n("te"));
    const results = await tx.exec({ keepErrors: true });
    assert.equal(results[0].result, "OK");
    assert.match(results[1].error, /ERR value is not an integer/);
    assert.equal(await redis.get(n("te2")), "b");
  });

  await check(`${label}: discarded transaction`, async () => {
    const tx = redis.multi();
    tx.set(n("td"), "never");
    // HSET without field/value pairs fails to queue, so Redis discards the whole transaction.
    tx.hset(n("td2"), {});
    await assert.rejects(tx.exec(), /EXECABORT/);
    assert.equal(await redis.get(n("td")), null);
  });

  await check(`${label}: raw exec`, async () => {
    if (typeof redis.exec !== "function") return;
    assert.equal(await redis.exec(["SET", n("raw"), "r"]), "OK");
    assert.equal(await redis.exec(["GET", n("raw")]), "r");
  });
}

const defaultClient = Redis.fromEnv();
const autoPipelined = new Redis({ url, token, enableAutoPipelining: true });
const plain = new Redis({ url, token, enableAutoPipelining: false });
const jsonEncoded = new Redis({ url, token, responseEncoding: false, enableAutoPipelining: false });

await suite("default", defaultClient);
await suite("auto", autoPipelined);
await suite("plain", plain);
await suite("json-encoding", jsonEncoded);

await check("auto-pipelining batches concurrent commands", async () => {
  const before = await stats();
  const keys = Array.from({ length: 10 }, (_, i) => k(`batch:${i}`));
  const results = await Promise.all(keys.map((key, i) => autoPipelined.set(key, i)));
  assert.deepEqual(results, Array(10).fill("OK"));
  const values = await Promise.all(keys.map((key) => autoPipelined.get(key)));
  assert.deepEqual(values, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const after = await stats();
  const requests = after.requests - before.requests;
  const commands = after.commands - before.commands;
  assert.equal(commands, 20, `commands counted: ${commands}`);
  assert.ok(requests < commands, `auto-pipelining should batch: ${requests} requests for ${commands} commands`);
});

// Read-your-writes (on by default in the SDK): every answer carries a new `upstash-sync-token`,
// the SDK keeps it (`readYourWritesSyncToken`) and sends it back on the next request, which the
// gateway counts (`syncTokens` in its stats); a token it never issued is still served.
await check("read-your-writes: the SDK sends the latest token back", async () => {
  const ryw = new Redis({ url, token, enableAutoPipelining: false });
  assert.equal(ryw.readYourWritesSyncToken, "");
  const before = await stats();
  assert.equal(await ryw.set(k("ryw"), "written"), "OK");
  const afterWrite = ryw.readYourWritesSyncToken;
  assert.match(afterWrite, /^[0-9]+$/, "numeric token after a write");
  assert.equal(await ryw.get(k("ryw")), "written");
  const afterRead = ryw.readYourWritesSyncToken;
  assert.ok(BigInt(afterRead) > BigInt(afterWrite), `${afterRead} after ${afterWrite}`);
  const p = ryw.pipeline();
  p.get(k("ryw")).incr(k("ryw:c"));
  assert.deepEqual(await p.exec(), ["written", 1]);
  assert.ok(BigInt(ryw.readYourWritesSyncToken) > BigInt(afterRead), "a pipeline moves the token too");
  const tx = ryw.multi();
  tx.incr(k("ryw:c"));
  assert.deepEqual(await tx.exec(), [2]);
  const after = await stats();
  // The first request had an empty token; the pipeline, the transaction and the read sent one.
  assert.equal(after.requests - before.requests, 4);
  assert.equal(after.syncTokens - before.syncTokens, 3, JSON.stringify({ before, after }));
  assert.equal(after.syncTokensFuture - before.syncTokensFuture, 0);
});

await check("read-your-writes: tokens from the future or malformed are served", async () => {
  const ryw = new Redis({ url, token, enableAutoPipelining: false });
  await ryw.set(k("ryw:f"), "v");
  const before = await stats();
  ryw.readYourWritesSyncToken = "18446744073709551615";
  assert.equal(await ryw.get(k("ryw:f")), "v");
  assert.ok(BigInt(ryw.readYourWritesSyncToken) < 18446744073709551615n, "the SDK takes the gateway's current token");
  ryw.readYourWritesSyncToken = "not-a-token";
  assert.equal(await ryw.get(k("ryw:f")), "v");
  assert.match(ryw.readYourWritesSyncToken, /^[0-9]+$/);
  const after = await stats();
  assert.equal(after.syncTokensFuture - before.syncTokensFuture, 1);
  assert.equal(after.syncTokens - before.syncTokens, 1, "the malformed one is not counted");
});

await check("read-your-writes: auto-pipelined commands carry the token", async () => {
  const before = await stats();
  await Promise.all([autoPipelined.set(k("ryw:a"), 1), autoPipelined.set(k("ryw:b"), 2)]);
  assert.deepEqual(await Promise.all([autoPipelined.get(k("ryw:a")), autoPipelined.get(k("ryw:b"))]), [1, 2]);
  const after = await stats();
  const requests = after.requests - before.requests;
  assert.ok(requests >= 1);
  assert.equal(after.syncTokens - before.syncTokens, requests, "every batch sent the latest token");
});

await check("read-your-writes: off (readYourWrites: false) sends nothing", async () => {
  const off = new Redis({ url, token, readYourWrites: false, enableAutoPipelining: false });
  const before = await stats();
  await off.set(k("ryw:off"), "1");
  assert.equal(await off.get(k("ryw:off")), 1);
  assert.equal(off.readYourWritesSyncToken, "");
  const after = await stats();
  assert.equal(after.syncTokens - before.syncTokens, 0);
});

await check("wrong token is rejected", async () => {
  const bad = new Redis({ url, token: "wrong-token", enableAutoPipelining: false, retry: false });
  await assert.rejects(bad.get(k("x")), /WRONGPASS invalid or missing auth token/);
});

await check("cleanup", async () => {
  const keys = await plain.keys(`${prefix}*`);
  if (keys.length > 0) await plain.del(...keys);
  assert.deepEqual(await plain.keys(`${prefix}*`), []);
});

console.log(`conformance: ${checks} checks passed`);
