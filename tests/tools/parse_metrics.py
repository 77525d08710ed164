"""Parses Prometheus text (stdin) with prometheus_client's own parser; prints JSON:
{"types": {family: type}, "samples": {sample_name: [{"labels": {...}, "value": v}]}}.
Any parse error exits non-zero: the test then fails with the parser's message."""
import json
import sys

from prometheus_client.parser import text_string_to_metric_families

types, samples = {}, {}
for family in text_string_to_metric_families(sys.stdin.read()):
    types[family.name] = family.type
    for s in family.samples:
        samples.setdefault(s.name, []).append({"labels": s.labels, "value": s.value})
print(json.dumps({"types": types, "samples": samples}))
