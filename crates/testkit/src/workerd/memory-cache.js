// An in-memory stand-in for the cache behind the Cache API (`caches.default`) under bare
// workerd, which has none of its own: workerd sends a Worker's cache calls to its
// `cacheApiOutbound` service as HTTP requests keyed by URL: GET = match (answer with
// `cf-cache-status: HIT` and the stored response, or `MISS`), PUT = put (the body is the
// response serialised as HTTP/1.1; answer 204, or 413 when not storable), PURGE = delete
// (200, or 404). Freshness: `s-maxage`, else `max-age` of the stored Cache-Control.
// Ranges, Vary and conditional requests are not needed by the Workers it serves. Each
// lookup that misses logs one JSON line (`cache_api_miss`).
const store = new Map();
const CRLFCRLF = [13, 10, 13, 10];

function headerEnd(bytes) {
  outer: for (let i = 0; i + 3 < bytes.length; i++) {
    for (let j = 0; j < 4; j++) if (bytes[i + j] !== CRLFCRLF[j]) continue outer;
    return i;
  }
  return -1;
}

function freshFor(headers) {
  const cc = (headers.get("cache-control") ?? "").toLowerCase();
  if (/(^|,)\s*(no-store|private)\b/.test(cc)) return 0;
  const m = /(?:^|,)\s*s-maxage=(\d+)/.exec(cc) ?? /(?:^|,)\s*max-age=(\d+)/.exec(cc);
  return m ? Number(m[1]) * 1000 : 0;
}

export default {
  async fetch(request) {
    const key = request.url;
    if (request.method === "GET") {
      const entry = store.get(key);
      if (!entry || entry.expires <= Date.now()) {
        store.delete(key);
        // One line per lookup that found nothing (hits stay silent: benchmarks make many),
        // so a test can count how often a request read the Cache API on its way to Redis.
        console.log(JSON.stringify({ event: "cache_api_miss", url: key }));
        return new Response(null, { status: 504, headers: { "cf-cache-status": "MISS" } });
      }
      const headers = new Headers(entry.headers);
      headers.set("cf-cache-status", "HIT");
      return new Response(entry.body, { status: entry.status, headers });
    }
    if (request.method === "PUT") {
      const raw = new Uint8Array(await request.arrayBuffer());
      const end = headerEnd(raw);
      if (end < 0) return new Response("no header block", { status: 413 });
      const [statusLine, ...lines] = new TextDecoder().decode(raw.subarray(0, end)).split("\r\n");
      const status = Number(/^HTTP\/\d(?:\.\d)? (\d+)/.exec(statusLine)?.[1] ?? NaN);
      const headers = new Headers();
      for (const line of lines) {
        const i = line.indexOf(":");
        if (i > 0) headers.append(line.slice(0, i).trim(), line.slice(i + 1).trim());
      }
      const ttl = freshFor(headers);
      if (!(status >= 200 && status < 600) || ttl <= 0) return new Response(null, { status: 413 });
      store.set(key, { status, headers: [...headers], body: raw.slice(end + 4), expires: Date.now() + ttl });
      return new Response(null, { status: 204 });
    }
    if (request.method === "PURGE") return new Response(null, { status: store.delete(key) ? 200 : 404 });
    return new Response(null, { status: 405 });
  },
};
