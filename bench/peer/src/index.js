// The peer: the same job as the Rust Worker, written the way a typical Cloudflare user
// would. The official @upstash/redis SDK with its defaults (Redis.fromEnv: automatic
// (de)serialisation, base64 response encoding, auto-pipelining), the same Redis keys,
// TTL and counters as the Rust service and the Python system, fetch + JSON.parse of
// exchangeInfo, the same per-symbol projection (src/process.js), JSON.stringify, and
// the Workers Cache API in front (EDGE_CACHE_TTL_SECONDS, 0 disables).
//
// It exists to be benchmarked against (scripts/bench.sh); it is not shipped.
import { Redis } from "@upstash/redis/cloudflare";
import { processText } from "./process.js";

const MARKETS = {
  spot: { path: "/api/v3/exchangeInfo?showPermissionSets=false", bases: "SPOT_API_BASES" },
  futures: { path: "/fapi/v1/exchangeInfo", bases: "FUTURES_API_BASES" },
};
const TTL_SECONDS = 900;

const keys = (m) => ({
  cache: `cache:symbols:${m}:v1`,
  lastGood: `cache:symbols:${m}:last_good`,
  lastRefresh: `cache:symbols:${m}:last_refresh_ts`,
  hit: `metrics:cache_hit:symbols_${m}`,
  miss: `metrics:cache_miss:symbols_${m}`,
  warmupSuccess: `metrics:warmup_success:symbols_${m}`,
  warmupError: `metrics:warmup_error:symbols_${m}`,
});

const json = (body, status, headers = {}) =>
  new Response(typeof body === "string" ? body : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json; charset=utf-8", ...headers },
  });

/** Fetches, processes and stores a market's list; returns the stored document (a JSON string). */
async function refresh(env, redis, market) {
  const base = String(env[MARKETS[market].bases] ?? "").split(",")[0].trim();
  const resp = await fetch(base + MARKETS[market].path);
  if (!resp.ok) throw new Error(`exchangeInfo answered ${resp.status}`);
  const doc = processText(market, await resp.text(), base, new Date().toISOString());
  const k = keys(market);
  await Promise.all([
    redis.set(k.cache, doc, { ex: TTL_SECONDS }),
    redis.set(k.lastGood, doc),
    redis.set(k.lastRefresh, Math.floor(Date.now() / 1000)),
  ]);
  return doc;
}

async function list(request, env, ctx, market) {
  const redis = Redis.fromEnv(env);
  const k = keys(market);
  const edgeTtl = Number(env.EDGE_CACHE_TTL_SECONDS ?? 30);
  const cacheKey = new Request(`https://symbols-peer.internal/v1/${market}`);
  if (edgeTtl > 0) {
    const hit = await caches.default.match(cacheKey);
    if (hit) {
      ctx.waitUntil(redis.incr(k.hit));
      return new Response(hit.body, { status: 200, headers: { "Content-Type": "application/json; charset=utf-8", "X-Cache": "HIT" } });
    }
  }
  let body;
  let status;
  const cached = await redis.get(k.cache);
  if (cached) {
    body = JSON.stringify({ source: "cache", ...cached });
    status = "HIT";
    ctx.waitUntil(redis.incr(k.hit));
  } else {
    ctx.waitUntil(redis.incr(k.miss));
    try {
      const doc = await refresh(env, redis, market);
      body = `{"source":"upstream",${doc.slice(1)}`;
      status = "MISS";
    } catch (e) {
      const lastGood = await redis.get(k.lastGood);
      if (!lastGood) return json({ error: `no ${market} symbol list available: ${e.message}`, market }, 503, { "Retry-After": "10" });
      return json({ source: "last_good", ...lastGood }, 200, { "X-Cache": "STALE" });
    }
  }
  if (edgeTtl > 0) {
    const copy = new Response(body, { headers: { "Content-Type": "application/json", "Cache-Control": `public, max-age=${edgeTtl}` } });
    ctx.waitUntil(caches.default.put(cacheKey, copy));
  }
  return json(body, 200, { "X-Cache": status });
}

async function route(request, env, ctx) {
  const { pathname } = new URL(request.url);
  if (request.method !== "GET") return [json({ error: "method not allowed" }, 405, { Allow: "GET" }), "other", null];
  if (pathname === "/healthz") return [json({ status: "ok" }, 200), "healthz", null];
  const m = /^\/api\/symbols\/(spot|futures)$/.exec(pathname);
  if (m) return [await list(request, env, ctx, m[1]), "list", m[1]];
  return [json({ error: "not found" }, 404), "other", null];
}

export default {
  async fetch(request, env, ctx) {
    const started = Date.now();
    const [response, routeName, market] = await route(request, env, ctx);
    // One structured log line per request, like the Rust Worker (same observability:
    // under wrangler dev each console.log costs about 2 ms, so leaving it out would
    // measure logging policy, not the cache path).
    console.log(
      JSON.stringify({
        level: "info",
        event: "request",
        request_id: request.headers.get("cf-ray"),
        method: request.method,
        route: routeName,
        market,
        status: response.status,
        cache: response.headers.get("X-Cache"),
        duration_ms: Date.now() - started,
      }),
    );
    return response;
  },

  // The cron warmup: both markets, independently.
  async scheduled(event, env, ctx) {
    const redis = Redis.fromEnv(env);
    await Promise.all(
      Object.keys(MARKETS).map(async (market) => {
        const k = keys(market);
        try {
          await refresh(env, redis, market);
          await redis.incr(k.warmupSuccess);
        } catch (e) {
          console.error(`warmup ${market} failed: ${e.message}`);
          await redis.incr(k.warmupError);
        }
      }),
    );
  },
};
