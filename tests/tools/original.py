"""The original Python trading bot's symbols cache, written from ORIGINAL-CONTRACT.md for
the side-by-side tests (tests/side_by_side.rs). A test helper, not shipped.

It behaves as the contract says the original does: its `redis_client` helpers (never
failing), its warmup task and its read-through route, with redis-py against the same
redis-server the gateway fronts. Binance is whatever `ORIGINAL_<MARKET>_BASE` points at
(the fake exchange in the tests).

    python original.py warmup spot          -> prints {"ok": true|false}
    python original.py route spot           -> prints the route's JSON array (or null)
    python original.py prepare spot < info  -> prints the list it would store
    python original.py load spot N THREADS  -> N route calls on THREADS threads;
                                               prints {"calls", "lists", "empty"}
"""

import json
import logging
import os
import sys
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import redis

log = logging.getLogger("original")

# ---- redis_client: one lazily created process-wide client, decode_responses=True ----
_client = None
_client_lock = threading.Lock()


def client():
    global _client
    with _client_lock:
        if _client is None:
            url = os.environ.get("REDIS_URL") or os.environ.get("CELERY_BROKER_URL") or "redis://localhost:6379/0"
            _client = redis.Redis.from_url(url, decode_responses=True)
        return _client


def read_json(key):
    try:
        raw = client().get(key)
        return None if raw is None else json.loads(raw)
    except Exception as e:  # the contract: None, warning logged
        log.warning("read_json %s failed: %s", key, e)
        return None


def write_json(key, value, ttl_seconds=None):
    try:
        data = json.dumps(value)
        if ttl_seconds and ttl_seconds > 0:
            client().set(key, data, ex=ttl_seconds)
        else:
            client().set(key, data)
        return True
    except Exception as e:
        log.error("write_json %s failed: %s", key, e)
        return False


def incr(key, amount=1):
    try:
        client().incrby(key, amount)
    except Exception as e:
        log.warning("incr %s failed: %s", key, e)


def get_int(key):
    try:
        raw = client().get(key)
        return 0 if raw is None else int(raw)
    except Exception:
        return 0


# ---- the symbols cache ----
PRIORITY = {
    "spot": ["BTC", "ETH", "BNB", "SOL", "ADA", "AVAX", "DOT", "MATIC", "LINK", "UNI"],
    "futures": ["BTC", "ETH", "BNB", "SOL", "ADA", "AVAX", "DOT", "MATIC"],
}
PATH = {"spot": "/api/v3/exchangeInfo", "futures": "/fapi/v1/exchangeInfo"}


def ttl(market):
    return int(os.environ.get(f"{market.upper()}_SYMBOLS_CACHE_TTL_SECONDS", "300"))


def primary_key(market):
    return f"cache:symbols:{market}:v1"


def last_good_key(market):
    return f"cache:symbols:{market}:last_good"


def ts_key(market):
    return f"metrics:{market}_symbols_cache:last_refresh_ts"


def get_public_symbols(market):
    """exchangeInfo's symbol objects, or None when Binance fails."""
    base = os.environ[f"ORIGINAL_{market.upper()}_BASE"]
    try:
        with urllib.request.urlopen(base + PATH[market], timeout=10) as r:
            return json.loads(r.read())["symbols"]
    except Exception as e:
        log.warning("exchangeInfo %s failed: %s", market, e)
        return None


def prepare(market, symbols):
    """USDT only; the priority bases first in their order, then by symbol (ties by symbol)."""
    prio = PRIORITY[market]
    usdt = [s for s in symbols if s.get("quoteAsset") == "USDT"]
    rank = lambda s: prio.index(s["baseAsset"]) if s.get("baseAsset") in prio else len(prio)
    return sorted(usdt, key=lambda s: (rank(s), s["symbol"]))


def store(market, prepared):
    if not write_json(primary_key(market), prepared, ttl_seconds=ttl(market)):
        return False
    write_json(last_good_key(market), prepared)
    write_json(ts_key(market), int(time.time()))
    return True


def warmup(market):
    """The Celery task: one success or one error per run."""
    try:
        symbols = get_public_symbols(market)
        if not symbols:
            incr(f"metrics:warmup_{market}_symbols_cache:error")
            return False
        if not store(market, prepare(market, symbols)):
            incr(f"metrics:warmup_{market}_symbols_cache:error")
            return False
        incr(f"metrics:warmup_{market}_symbols_cache:success")
        return True
    except Exception:
        incr(f"metrics:warmup_{market}_symbols_cache:error")
        return False


def route(market):
    """The FastAPI route: read through, else fetch, else last_good."""
    cached = read_json(primary_key(market))
    if isinstance(cached, list):
        incr(f"metrics:cache_hit:symbols_{market}")
        return cached
    incr(f"metrics:cache_miss:symbols_{market}")
    symbols = get_public_symbols(market)
    if symbols:
        prepared = prepare(market, symbols)
        store(market, prepared)
        return prepared
    return read_json(last_good_key(market))


def load(market, calls, threads):
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(lambda _: route(market), range(calls)))
    lists = sum(1 for r in results if isinstance(r, list) and r)
    return {"calls": calls, "lists": lists, "empty": calls - lists}


def main(argv):
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    cmd, market = argv[1], argv[2]
    if cmd == "warmup":
        out = {"ok": warmup(market)}
    elif cmd == "route":
        out = route(market)
    elif cmd == "prepare":
        out = prepare(market, json.load(sys.stdin)["symbols"])
    elif cmd == "load":
        out = load(market, int(argv[3]), int(argv[4]))
    else:
        raise SystemExit(f"unknown command {cmd}")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv)
