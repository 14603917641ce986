"""Generated requests (Schemathesis, in-process over WSGI) against both OpenAPI documents: the JSON API's
(/api/openapi.json) and the OGC API's (/ogc/api).  Every answer must be no 5xx, a status the document lists, and a
body its schema allows.  Writes run with a planner's token on a throwaway database, on both backends.

`make test` sends a bounded number of cases (at least MIN_CASES over both documents, counted, so the test cannot
pass having sent none); `make fuzz` sets SCOUTING_FUZZ_EXAMPLES to send many more.
"""
from __future__ import annotations

import itertools
import json
import os
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from .helpers import bearer

EXAMPLES = int(os.environ.get("SCOUTING_FUZZ_EXAMPLES", "0")) or None  # per operation and mode; None: the default
MIN_CASES = int(os.environ.get("SCOUTING_FUZZ_MIN_CASES", "1000"))
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
ADDRESSES = itertools.count()
DOCUMENTS = {"api": "/api/openapi.json", "ogc": "/ogc/api?f=json"}


def _schema(app, path: str):
    doc = app.test_client().get(path).get_json()
    validate(doc)  # the document itself is valid OpenAPI 3.0
    schema = schemathesis.openapi.from_dict(doc)
    schema.app = app
    return schema


def _steer(case, client, pack: dict) -> None:
    """Point a valid case at records that exist (a random id is almost never one), so that writes are tried and
    succeed, not only answered 404: site ids fold onto the seeded ones, the pack is a real one with its edit token,
    and If-Match is the site's current ETag."""
    path = case.path_parameters or {}
    if "site_id" in path:
        path["site_id"] = 1 + (path["site_id"] - 1) % 40  # 35 seeded sites: most exist, a few do not
        if case.headers and "If-Match" in case.headers:
            current = client.get(f"/api/sites/{path['site_id']}")
            if current.status_code == 200:
                case.headers["If-Match"] = current.headers["ETag"]
    if "pack_id" in path:
        path["pack_id"] = pack["id"]
        if case.headers:
            case.headers.update({"X-Edit-Token": pack["edit_token"]})
            case.headers.pop("If-Match", None)
    geometry = case.body.get("geometry") if isinstance(case.body, dict) else None
    if case.operation.label == "POST /api/sites" and isinstance(geometry, dict):
        lon, lat = geometry["coordinates"][:2]  # into the county's middle, where a new site needs no confirmation
        geometry["coordinates"] = [119.95 + abs(lon) % 0.2, 27.72 + abs(lat) % 0.12]
    if isinstance(case.body, dict) and isinstance(case.body.get("site_ids"), list):
        case.body["site_ids"] = list(dict.fromkeys(1 + (i - 1) % 35 for i in case.body["site_ids"]))
        if isinstance(case.body.get("notes"), dict):
            case.body["notes"] = {}


def _send_cases(operation, mode, examples: int, headers: dict, client, pack: dict, counts: Counter,
                statuses: Counter) -> None:
    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def send(case):
        counts[operation.label] += 1
        if mode == GenerationMode.POSITIVE:
            _steer(case, client, pack)
        # Each case from an address of its own: the per-address rate limits (tested in test_security) would
        # otherwise turn most writes into 429s, and would be used up for the tests that run after this one.
        n = next(ADDRESSES)
        response = case.call_and_validate(headers=headers, checks=CHECKS,
                                          environ_base={"REMOTE_ADDR": f"198.19.{n // 250 % 250}.{n % 250 + 1}"})
        statuses[(operation.label, response.status_code)] += 1

    send()


def _run(schema, auth: dict, examples: int, counts: Counter, statuses: Counter) -> list[str]:
    """Send generated cases for every operation in both modes; return what failed (and keep going)."""
    failures = []
    client = schema.app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.20.0.1"
    pack = client.post("/api/packs", json={"name": "fuzz", "site_ids": [1, 2]}).get_json()
    for result in schema.get_all_operations():
        operation = result.ok()
        raw = operation.definition.raw
        # Uncompressed answers: the in-process WSGI client does not undo Flask-Compress's encodings.
        headers = {"Accept-Encoding": "identity"} | (auth if raw.get("security") else {})
        path_params = schema.raw_schema["paths"][operation.path].get("parameters", [])
        # Without parameters or a body there is nothing to make invalid.
        has_input = raw.get("parameters") or raw.get("requestBody") or path_params
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if has_input else (GenerationMode.POSITIVE,)
        for mode in modes:
            try:
                _send_cases(operation, mode, examples, headers, client, pack, counts, statuses)
            except Exception as err:  # collect every operation's failure, not only the first
                failures.append(f"{operation.label} ({mode}): {str(err)[:1500]}")
    return failures


@pytest.mark.timeout(0 if EXAMPLES else 600)  # a minute or two on a loaded machine; `make fuzz` much longer
def test_generated_requests_against_both_documents(writer):
    app = writer.application
    auth = bearer(writer.tokens["planner"])
    counts: Counter = Counter()    # cases sent per operation
    statuses: Counter = Counter()  # answers per (operation, status)
    failures = []
    for name, path in DOCUMENTS.items():
        failures += _run(_schema(app, path), auth, EXAMPLES or (18 if name == "api" else 25), counts, statuses)
    assert not failures, "\n\n".join(failures)
    total = sum(counts.values())
    print(f"schemathesis: {total} cases over {len(counts)} operations")
    written = sum(n for (label, status), n in statuses.items() if status < 300 and not label.startswith("GET"))
    assert written > 0, statuses  # the writes were really tried, not only refused
    assert total >= MIN_CASES, (total, counts)
    assert writer.get("/healthz").get_json()["status"] == "ok"


@pytest.mark.parametrize("path", DOCUMENTS.values())
def test_documents_are_valid_openapi(client, path):
    validate(client.get(path).get_json())


def test_bases_answer_is_its_documented_schema_property_for_property(client):
    """/api/bases against the document's Base: every property served is documented (towns_en, the provenance
    sentences...), every documented one is served, and the answer validates."""
    doc = client.get("/api/openapi.json").get_json()
    schemas = doc["components"]["schemas"]
    assert doc["paths"]["/api/bases"]["get"]["responses"]["200"]["content"]["application/geo+json"]["schema"] == {
        "$ref": "#/components/schemas/BaseCollection"}
    documented = schemas["Base"]["properties"]["properties"]["properties"]
    assert "towns_en" in documented and documented["towns_en"]["items"] == {"type": "string"}
    answer = client.get("/api/bases").get_json()
    assert "$ref" not in json.dumps(schemas["Base"])  # so the collection's one reference is resolved here
    collection = schemas["BaseCollection"]
    validator = OAS30Validator({**collection, "properties": {
        **collection["properties"], "features": {"type": "array", "items": schemas["Base"]}}})
    validator.validate(answer)
    for feature in answer["features"]:
        assert set(feature["properties"]) == set(documented), feature["properties"]["slug"]
    # The schema can fail: a base without towns_en is refused.
    broken = {**answer, "features": [{**answer["features"][0], "properties": {
        k: v for k, v in answer["features"][0]["properties"].items() if k != "towns_en"}}]}
    assert not validator.is_valid(broken)
