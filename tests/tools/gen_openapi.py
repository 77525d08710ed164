"""Writes openapi.json: the OpenAPI 3.1 description of every public route.

Kept as code so the shared pieces (error shapes, headers) are written once; the output
is committed and served by the Worker at /openapi.json. Run: python3 tests/tools/gen_openapi.py
"""
import json
import pathlib

def ref(name):
    return {"$ref": f"#/components/schemas/{name}"}

def json_body(schema, description, headers=None):
    r = {"description": description, "content": {"application/json": {"schema": schema}}}
    if headers:
        r["headers"] = headers
    return r

ERR = lambda d, h=None: json_body(ref("Error"), d, h)
CACHE_HEADERS = {
    "X-Cache": {"$ref": "#/components/headers/X-Cache"},
    "ETag": {"$ref": "#/components/headers/ETag"},
}
UNAVAILABLE = json_body(ref("Unavailable"), "Nothing can be served: no cache, no last_good, upstream failing.",
                        {"Retry-After": {"$ref": "#/components/headers/Retry-After"}})
MARKET = {"name": "market", "in": "path", "required": True, "description": "`spot` or `futures` (others: 404).",
          "schema": {"type": "string", "enum": ["spot", "futures"]}}
ROUTE_ERRORS = {
    "400": ERR("Invalid percent-encoding or symbol length, an unknown format, a bad or unknown field name."),
    "404": ERR("Unknown route, market or symbol."),
    "405": ERR("Method not allowed; see `Allow`.", {"Allow": {"schema": {"type": "string"}}}),
    "414": ERR("Path longer than 1024 bytes or query longer than 2048 bytes."),
}

dec = {"type": ["string", "null"], "description": "Exact decimal string as Binance sent it; null when the filter is absent."}
symbol = {
    "type": "object",
    "required": ["symbol", "status", "baseAsset", "quoteAsset", "tickSize", "stepSize", "minQty", "maxQty", "minNotional"],
    "properties": {
        "symbol": {"type": "string", "examples": ["BTCUSDT", "币安人生USDT"]},
        "status": {"type": "string", "description": "TRADING, BREAK, HALT, ...; unknown values are passed through."},
        "baseAsset": {"type": "string"},
        "quoteAsset": {"type": "string"},
        "tickSize": dec, "stepSize": dec, "minQty": dec, "maxQty": dec, "minNotional": dec,
        "contractType": {"type": "string", "description": "Futures only (may be empty)."},
        "marginAsset": {"type": ["string", "null"], "description": "Futures only."},
        "deliveryDate": {"type": ["integer", "null"], "description": "Futures only, unix ms."},
        "onboardDate": {"type": ["integer", "null"], "description": "Futures only, unix ms."},
    },
}
symbol_list = {
    "type": "object",
    "required": ["source", "market", "version", "fetchedAt", "count", "symbols"],
    "properties": {
        "source": {"type": "string", "enum": ["cache", "upstream", "last_good", "original_last_good"],
                   "description": "original_last_good: the original system's last good list (USDT symbols only), served STALE when we have no last good list of our own."},
        "onlyQuoteAsset": {"type": "string", "enum": ["USDT"],
                           "description": "Present when the list covers only this quote asset (source original_last_good)."},
        "market": {"type": "string", "enum": ["spot", "futures"]},
        "version": {"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "Hash of the symbols; part of the ETag."},
        "upstream": {"type": "string", "description": "Base URL the list was fetched from (original_last_good for the original system's list)."},
        "fetchedAt": {"type": "string", "format": "date-time", "description": "When this version of the list was first fetched; an unchanged refresh keeps it."},
        "count": {"type": "integer", "minimum": 0},
        "symbols": {"type": "array", "items": ref("Symbol")},
    },
}
nullable_int = {"type": ["integer", "null"]}
nullable_num = {"type": ["number", "null"]}
min_max = {"type": "object", "required": ["min", "max"], "properties": {"min": nullable_num, "max": nullable_num}}
FORMAT = {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["ccxt"]},
          "description": "`ccxt`: ccxt's unified market structure for Binance (what `ccxt.binance().parse_market(raw)` "
                         "returns, ccxt 4.5.90), for `exchange.set_markets(body['markets'])`. Omitted: our own list. "
                         "Any other value is a 400; with `format=ccxt` the status/quote/base filters are a 400 too."}
ccxt_market = {
    "type": "object",
    "description": "One ccxt market, field for field what ccxt's parse_market returns (floats as Python writes them; "
                   "`info` is the raw exchangeInfo symbol object). `active` is ccxt's: status TRADING (spot: and no "
                   "TRD_GRP_003 permission).",
    "required": ["id", "lowercaseId", "symbol", "base", "quote", "settle", "baseId", "quoteId", "settleId", "type",
                 "spot", "margin", "swap", "future", "option", "index", "active", "contract", "linear", "inverse",
                 "subType", "taker", "maker", "contractSize", "expiry", "expiryDatetime", "strike", "optionType",
                 "precision", "limits", "marginModes", "created", "info", "stock"],
    "properties": {
        "id": {"type": "string", "examples": ["BTCUSDT"]},
        "lowercaseId": {"type": "string"},
        "symbol": {"type": "string", "examples": ["BTC/USDT", "BTC/USDT:USDT", "BTC/USDT:USDT-251226"]},
        "base": {"type": "string"}, "quote": {"type": "string"}, "settle": {"type": ["string", "null"]},
        "baseId": {"type": "string"}, "quoteId": {"type": "string"}, "settleId": {"type": ["string", "null"]},
        "type": {"type": ["string", "null"], "enum": ["spot", "swap", "future", None]},
        "spot": {"type": "boolean"}, "margin": {"type": "boolean"}, "swap": {"type": "boolean"},
        "future": {"type": "boolean"}, "option": {"type": "boolean"}, "index": {"type": ["boolean", "null"]},
        "active": {"type": "boolean"}, "contract": {"type": "boolean"},
        "linear": {"type": ["boolean", "null"]}, "inverse": {"type": ["boolean", "null"]},
        "subType": {"type": ["string", "null"], "enum": ["linear", "inverse", None]},
        "taker": {"type": "number"}, "maker": {"type": "number"}, "contractSize": nullable_num,
        "expiry": {**nullable_int, "description": "Unix ms of delivery (dated futures; null for perpetuals and spot)."},
        "expiryDatetime": {"type": ["string", "null"]}, "strike": {"type": "null"}, "optionType": {"type": ["string", "null"]},
        "precision": {"type": "object", "required": ["amount", "price", "base", "quote"],
                      "properties": {"amount": nullable_num, "price": nullable_num, "base": nullable_num, "quote": nullable_num},
                      "description": "TICK_SIZE mode: step sizes as numbers (0.01, 1e-08)."},
        "limits": {"type": "object", "required": ["leverage", "amount", "price", "cost"],
                   "properties": {"leverage": min_max, "amount": min_max, "price": min_max, "cost": min_max, "market": min_max}},
        "marginModes": {"type": ["object", "null"]},
        "created": {**nullable_int, "description": "Futures onboardDate, unix ms."},
        "info": {"type": "object", "description": "The raw exchangeInfo symbol object, every field."},
        "stock": {"type": "boolean"},
    },
}
FIELDS = {"name": "fields", "in": "query", "schema": {"type": "string"},
          "description": "Comma-separated field names of the full records (`tickSize,maxNumOrders,canTrade`; letters, "
                         "digits and `_`, at most 64): the list of `symbol` plus those fields, `null` where a symbol has "
                         "none; `all`: the full records. A name no record carries is a 400 naming the known ones. Empty: "
                         "the default list. Not with `format=ccxt` (400); not on single-symbol lookups (400: they give "
                         "every field). The filters apply. README \"Full records\" lists the names."}
full_record = {
    "description": "Every field of `Symbol`, every top-level field Binance sends for the symbol (as sent), every "
                   "filter value under one name per rule across spot and futures (README \"Full records\"), and what a "
                   "bot can act on.",
    "allOf": [ref("Symbol"), {
        "type": "object",
        "required": ["canTrade", "delistAt", "otherFilters"],
        "properties": {
            "canTrade": {"type": "boolean", "description": "status is TRADING."},
            "delistAt": {"type": ["integer", "null"],
                         "description": "Unix ms when trading ends where Binance says so: a futures contract's "
                                        "deliveryDate before 2100 (a quarterly's delivery, a perpetual's scheduled "
                                        "delisting); else null."},
            "otherFilters": {"type": "array", "items": {"type": "object"},
                             "description": "Filters of a type (or with a key) not in the rules table, passed through whole."},
            "maxNumOrders": {"type": "integer"},
            "maxNotional": {"type": "string"},
        },
    }],
}
selected_list = {
    "type": "object",
    "required": ["source", "market", "version", "fetchedAt", "count", "fields", "symbols"],
    "properties": {
        "source": symbol_list["properties"]["source"],
        "onlyQuoteAsset": symbol_list["properties"]["onlyQuoteAsset"],
        "market": {"type": "string", "enum": ["spot", "futures"]},
        "version": {"type": "string", "pattern": "^[0-9a-f]{16}$",
                    "description": "Hash of the full records; part of the ETag (`\"<market>-rules-<version>-<selection hash>\"`)."},
        "upstream": {"type": "string"},
        "fetchedAt": {"type": "string", "format": "date-time"},
        "count": {"type": "integer", "minimum": 0},
        "fields": {"description": "The fields given (`symbol` first), or \"all\".",
                   "oneOf": [{"type": "array", "items": {"type": "string"}}, {"type": "string", "enum": ["all"]}]},
        "symbols": {"type": "array", "items": {"type": "object", "required": ["symbol"]}},
    },
}
ccxt_markets = {
    "type": "object",
    "required": ["source", "market", "version", "fetchedAt", "count", "markets"],
    "properties": {
        "source": symbol_list["properties"]["source"],
        "onlyQuoteAsset": symbol_list["properties"]["onlyQuoteAsset"],
        "market": {"type": "string", "enum": ["spot", "futures"]},
        "version": {"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "Hash of the markets; part of the ETag."},
        "upstream": {"type": "string"},
        "fetchedAt": {"type": "string", "format": "date-time"},
        "count": {"type": "integer", "minimum": 0},
        "markets": {"type": "array", "items": ref("CcxtMarket"), "description": "In exchangeInfo order."},
    },
}
market_metrics = {
    "type": "object",
    "required": ["hits", "misses", "hitRatio", "warmupSuccess", "warmupError", "upstreamFailures"],
    "properties": {
        "hits": {"type": "integer"}, "misses": {"type": "integer"},
        "hitRatio": {"type": "number", "minimum": 0, "maximum": 1},
        "warmupSuccess": {"type": "integer"}, "warmupError": {"type": "integer"},
        "lastRefreshTs": nullable_int,
        "lastRefreshAt": {"type": ["string", "null"], "format": "date-time"},
        "ageSeconds": nullable_int,
        "symbolCount": nullable_int,
        "lastOutcome": {"oneOf": [{"type": "null"}, ref("LastOutcome")]},
        "upstreamFailures": {"type": "object", "additionalProperties": {"type": "integer"},
                             "description": "By reason: 429, 418, 451, 403, 5xx, 4xx, timeout, network, malformed, rejected."},
        "changesRecorded": {"type": "object", "additionalProperties": {"type": "integer"},
                            "description": "Change events recorded, by type: listed, delisted, status, rules, delisting_scheduled."},
        "webhookOk": {"type": "integer", "description": "CHANGES_WEBHOOK_URL deliveries answered 2xx."},
        "webhookFailed": {"type": "integer", "description": "Deliveries that failed (non-2xx, timeout, network); never retried."},
        "recentChanges": {"type": "array", "items": ref("ChangeEvent"), "description": "The newest change events (at most 10), newest first."},
    },
}
change_event = {
    "type": "object",
    "required": ["id", "market", "version", "detectedAt", "type", "symbol"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+-[0-9]+$",
               "description": "Stream id `<detected ms>-<n>`: pass it as `cursor` to read what came after."},
        "market": {"type": "string", "enum": ["spot", "futures"]},
        "version": {"type": "string", "pattern": "^[0-9a-f]{16}$", "description": "The list version the refresh stored (the new ETag)."},
        "detectedAt": {"type": "string", "format": "date-time", "description": "When the refresh detected it (ms precision)."},
        "type": {"type": "string", "enum": ["listed", "delisted", "status", "rules", "delisting_scheduled"]},
        "symbol": {"type": "string"},
        "field": {"type": "string", "description": "status: `status`; rules: the field (dotted path for nested rules); delisting_scheduled: `deliveryDate`."},
        "from": {"description": "The value before (delisted: the whole previous record; null: absent)."},
        "to": {"description": "The value now (listed: the whole new record; delisting_scheduled: the delivery date, unix ms)."},
    },
}
changes_page = {
    "type": "object",
    "required": ["market", "events", "next", "hasMore", "truncated", "retained"],
    "properties": {
        "market": {"type": "string", "enum": ["spot", "futures"]},
        "events": {"type": "array", "items": ref("ChangeEvent"), "description": "Oldest first."},
        "next": {"type": ["string", "null"], "pattern": "^[0-9]+-[0-9]+$",
                 "description": "Cursor after the last event returned (the request's own cursor when none were): `?cursor=` for the next page or the next poll."},
        "hasMore": {"type": "boolean", "description": "More events follow `next` already."},
        "truncated": {"type": "boolean",
                      "description": "true: events after `since`/`cursor` (or, without either, the oldest ones) were trimmed from the retained history "
                                     "(CHANGES_MAX_EVENTS), or the version is unknown: the feed cannot be complete from there; reload the list."},
        "retained": {"type": "integer", "minimum": 0, "description": "Events kept for the market."},
    },
}
doc = {
    "openapi": "3.1.0",
    "info": {
        "title": "symbols-edge",
        "version": "1.0.0",
        "description": "Binance spot and USD-M futures symbol lists, cached at the edge (Cloudflare Worker + Upstash Redis). "
                       "A stale list is served rather than none: see `X-Cache`.",
    },
    "paths": {
        "/api/symbols/{market}": {"get": {
            "operationId": "listSymbols",
            "summary": "The whole list of a market, optionally filtered, or chosen fields of its full records.",
            "parameters": [MARKET,
                {"name": "status", "in": "query", "schema": {"type": "string"}, "description": "e.g. TRADING (case-insensitive)."},
                {"name": "quote", "in": "query", "schema": {"type": "string"}, "description": "Quote asset, e.g. USDT."},
                {"name": "base", "in": "query", "schema": {"type": "string"}, "description": "Base asset, e.g. BTC."},
                FIELDS,
                FORMAT,
                {"name": "If-None-Match", "in": "header", "schema": {"type": "string"}, "description": "An ETag from an earlier answer."}],
            "responses": {
                "200": json_body({"anyOf": [ref("SymbolList"), ref("SelectedList"), ref("CcxtMarkets")]},
                                 "The list (`SelectedList` with `fields`, `CcxtMarkets` with `format=ccxt`).", CACHE_HEADERS),
                "304": {"description": "Unchanged since the ETag given in If-None-Match.", "headers": CACHE_HEADERS},
                **ROUTE_ERRORS, "503": UNAVAILABLE},
        }},
        "/api/symbols/{market}/{symbol}": {"get": {
            "operationId": "getSymbol",
            "summary": "One symbol's full record (percent-decoded; exact match first, then case-insensitive).",
            "parameters": [MARKET, {"name": "symbol", "in": "path", "required": True,
                                    "schema": {"type": "string", "minLength": 1, "maxLength": 64}}, FORMAT],
            "responses": {"200": json_body({"anyOf": [ref("FullRecord"), ref("Symbol"), ref("CcxtMarket")]},
                                           "The symbol's full record (every rule Binance sends; the list's record when "
                                           "the full records are not available), or its ccxt market with `format=ccxt` "
                                           "(found by Binance id).",
                                           {"X-Cache": {"$ref": "#/components/headers/X-Cache"}}),
                          **ROUTE_ERRORS, "503": UNAVAILABLE},
        }},
        "/api/symbols/{market}/changes": {"get": {
            "operationId": "listChanges",
            "summary": "Listings, delistings, status and rule changes, oldest first, a page at a time.",
            "description": "Each refresh that stores a changed list records what changed against the previous one. "
                           "Give `since` (a version or a time) or `cursor` (a `next`), not both; neither: from the oldest retained event.",
            "parameters": [MARKET,
                {"name": "since", "in": "query", "schema": {"type": "string"},
                 "description": "A list `version` (16 lowercase hex digits, e.g. from an earlier list response): the changes after the refresh that stored it; "
                                "or an RFC 3339 time (`2024-05-01T12:00:00Z`, offsets allowed): the changes detected after it."},
                {"name": "cursor", "in": "query", "schema": {"type": "string", "pattern": "^[0-9]+-[0-9]+$"},
                 "description": "`next` of an earlier page: the changes after it."},
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                 "description": "Events per page."}],
            "responses": {
                "200": json_body(ref("ChangesPage"), "A page of changes."),
                "400": ERR("Bad since, cursor or limit (or both since and cursor)."),
                "404": ERR("Unknown market."),
                "405": ERR("Method not allowed; see `Allow`.", {"Allow": {"schema": {"type": "string"}}}),
                "414": ERR("Path longer than 1024 bytes or query longer than 2048 bytes."),
                "503": ERR("Redis unreachable.", {"Retry-After": {"$ref": "#/components/headers/Retry-After"}}),
            },
        }},
        "/api/symbols/{market}/refresh": {"post": {
            "operationId": "refreshMarket",
            "summary": "Force a refresh (same lock and validation as the cron). 404 unless ADMIN_TOKEN is configured.",
            "security": [{"adminToken": []}],
            "parameters": [MARKET],
            "responses": {
                "200": json_body(ref("RefreshResult"), "A new list was stored."),
                "401": ERR("Missing or wrong admin token.", {"WWW-Authenticate": {"schema": {"type": "string"}}}),
                "404": ERR("Admin refresh is disabled (no ADMIN_TOKEN) or unknown market."),
                "409": json_body(ref("RefreshResult"), "Another refresh holds the lock."),
                "502": json_body(ref("RefreshResult"), "The upstream failed or the list was rejected; nothing was overwritten."),
                "503": json_body(ref("RefreshResult"), "Redis unreachable."),
            },
        }},
        "/api/symbols/metrics": {"get": {
            "operationId": "symbolsMetrics",
            "summary": "Counters and freshness per market.",
            "responses": {"200": json_body({"type": "object", "required": ["spot", "futures"],
                                            "properties": {"spot": ref("MarketMetrics"), "futures": ref("MarketMetrics")}},
                                           "Per-market figures."),
                          "503": json_body(ref("Unavailable"), "Redis unreachable.",
                                           {"Retry-After": {"$ref": "#/components/headers/Retry-After"}})},
        }},
        "/healthz": {"get": {
            "operationId": "health",
            "summary": "Liveness plus Redis reachability.",
            "responses": {"200": json_body(ref("Health"), "Redis reachable."),
                          "503": json_body(ref("Health"), "Redis unreachable (lists may still be served: BYPASS).")},
        }},
        "/metrics": {"get": {
            "operationId": "prometheusMetrics",
            "summary": "Prometheus text exposition (format 0.0.4).",
            "responses": {"200": {"description": "Metrics.", "content": {"text/plain": {"schema": {"type": "string"}}}}},
        }},
        "/": {"get": {
            "operationId": "statusPage",
            "summary": "Human status page.",
            "responses": {"200": {"description": "HTML.", "content": {"text/html": {"schema": {"type": "string"}}}}},
        }},
        "/openapi.json": {"get": {
            "operationId": "openapi",
            "summary": "This document.",
            "responses": {"200": {"description": "OpenAPI 3.1.", "content": {"application/json": {"schema": {"type": "object"}}}}},
        }},
    },
    "components": {
        "securitySchemes": {"adminToken": {"type": "http", "scheme": "bearer", "description": "The ADMIN_TOKEN secret."}},
        "headers": {
            "X-Cache": {"description": "HIT (in the primary cache), MISS (not in it: fetched now, or by the refresh this request waited for), STALE (a last good list; upstream failing), BYPASS (Redis unreachable).",
                        "schema": {"type": "string", "enum": ["HIT", "MISS", "STALE", "BYPASS"]}},
            "ETag": {"description": "Strong validator of the list version.", "schema": {"type": "string", "pattern": "^\"(spot|futures)-((ccxt-)?[0-9a-f]{16}|rules-[0-9a-f]{16}-[0-9a-f]{16})\"$"}},
            "Retry-After": {"description": "Seconds.", "schema": {"type": "string", "pattern": "^[0-9]+$"}},
        },
        "schemas": {
            "Symbol": symbol,
            "SymbolList": symbol_list,
            "FullRecord": full_record,
            "SelectedList": selected_list,
            "CcxtMarket": ccxt_market,
            "CcxtMarkets": ccxt_markets,
            "Error": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}},
                      "additionalProperties": True},
            "Unavailable": {"type": "object", "required": ["error", "market"],
                            "properties": {"error": {"type": "string"}, "market": {"type": "string", "enum": ["spot", "futures"]}}},
            "Health": {"type": "object", "required": ["status", "redis"],
                       "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]},
                                      "redis": {"type": "string", "enum": ["reachable", "unreachable"]},
                                      "error": {"type": "string"}}},
            "LastOutcome": {"type": "object", "required": ["ok", "atMs", "trigger", "durationMs"],
                            "properties": {"ok": {"type": "boolean"}, "atMs": {"type": "integer"},
                                           "trigger": {"type": "string", "enum": ["request", "cron", "admin"]},
                                           "count": nullable_int, "reason": {"type": ["string", "null"]},
                                           "durationMs": {"type": "integer"}}},
            "MarketMetrics": market_metrics,
            "ChangeEvent": change_event,
            "ChangesPage": changes_page,
            "RefreshResult": {"type": "object", "required": ["market", "ok"],
                              "properties": {"market": {"type": "string"}, "ok": {"type": "boolean"},
                                             "count": {"type": "integer"}, "version": {"type": "string"},
                                             "reason": {"type": "string"}, "error": {"type": "string"}}},
        },
    },
}
import sys

text = json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
out = pathlib.Path(__file__).resolve().parents[2] / "openapi.json"
if "--check" in sys.argv:
    if out.read_text() != text:
        sys.exit("openapi.json is out of date: run python3 tests/tools/gen_openapi.py")
    print("openapi.json is up to date")
else:
    out.write_text(text)
    print(f"wrote {out}")
