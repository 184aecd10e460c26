#!/usr/bin/env python3
"""Writes hybrid-crm.postman_collection.json: one request per endpoint (and key error paths),
each with test assertions. Run `python3 postman/generate.py` after changing the API."""
import json
import pathlib

PROBLEM = [
    "pm.test('problem+json body', () => {",
    "  pm.expect(pm.response.headers.get('Content-Type')).to.include('application/problem+json');",
    "  const body = pm.response.json();",
    "  pm.expect(body).to.have.property('code');",
    "  pm.expect(body.status).to.eql(pm.response.code);",
    "});",
]


def status(code):
    return [f"pm.test('status is {code}', () => pm.response.to.have.status({code}));"]


def code(value):
    return [f"pm.test('code is {value}', () => pm.expect(pm.response.json().code).to.eql('{value}'));"]


def request(name, method, path, tests, body=None, headers=None, content_type="application/json"):
    item = {
        "name": name,
        "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": tests}}],
        "request": {
            "method": method,
            "header": [{"key": k, "value": v} for k, v in (headers or {}).items()],
            "url": {"raw": "{{baseUrl}}" + path, "host": ["{{baseUrl}}"], "path": segments(path)},
        },
    }
    if "?" in path:
        item["request"]["url"]["query"] = [
            {"key": kv.split("=")[0], "value": kv.split("=", 1)[1]} for kv in path.split("?", 1)[1].split("&")
        ]
    if body is not None:
        raw = body if isinstance(body, str) else json.dumps(body, indent=2)
        item["request"]["body"] = {"mode": "raw", "raw": raw}
        item["request"]["header"].append({"key": "Content-Type", "value": content_type})
    return item


def segments(path):
    parts = [p for p in path.split("?")[0].split("/") if p]
    return parts + [""] if path.split("?")[0].endswith("/") else parts


def save(var, expr="pm.response.json().id"):
    return [f"pm.collectionVariables.set('{var}', {expr});"]


R = "{{runId}}"
folders = [
    ("Health", [
        request("Liveness", "GET", "/health/live", status(200) + ["pm.test('ok', () => pm.expect(pm.response.json().status).to.eql('ok'));"]),
        request("Readiness", "GET", "/health/ready", status(200) + [
            "pm.test('both stores up', () => pm.response.json().stores.forEach(s => pm.expect(s.status).to.eql('up')));"]),
        request("OpenAPI document", "GET", "/api-docs/openapi.json", status(200) + [
            "pm.test('is OpenAPI 3.1', () => pm.expect(pm.response.json().openapi).to.match(/^3\\.1/));"]),
        request("Swagger UI", "GET", "/swagger-ui/", status(200) + [
            "pm.test('serves HTML', () => pm.expect(pm.response.text()).to.include('swagger'));"]),
    ]),
    ("Companies", [
        request("Create company", "POST", "/api/v1/companies", status(201) + save("companyId") + [
            "pm.test('Location header', () => pm.expect(pm.response.headers.get('Location')).to.eql('/api/v1/companies/' + pm.response.json().id));",
            "pm.test('echoes fields', () => pm.expect(pm.response.json().legal_name).to.eql('Postman Tools ' + pm.collectionVariables.get('runId')));"],
            {"legal_name": f"Postman Tools {R}", "tax_id": f"PM-{R}", "address": "1 Test Street", "phone": "+1 555 0100 200"}),
        request("Create company with a taken legal name", "POST", "/api/v1/companies", status(409) + PROBLEM + code("legal_name_taken"),
            {"legal_name": f"Postman Tools {R}", "tax_id": f"PM2-{R}"}),
        request("Create company with invalid fields", "POST", "/api/v1/companies", status(422) + PROBLEM + code("validation_failed") + [
            "pm.test('names the fields', () => pm.expect(pm.response.json().errors.map(e => e.field)).to.include.members(['legal_name', 'phone']));"],
            {"legal_name": "", "tax_id": "x", "phone": "call me"}),
        request("List companies", "GET", "/api/v1/companies?limit=5", status(200) + [
            "pm.test('a page', () => { const b = pm.response.json(); pm.expect(b.items).to.be.an('array'); pm.expect(b.items.length).to.be.at.most(5); pm.expect(b).to.have.property('next_cursor'); });"]),
        request("Get company", "GET", "/api/v1/companies/{{companyId}}", status(200) + [
            "pm.test('the same company', () => pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('companyId')));"]),
        request("Update company", "PATCH", "/api/v1/companies/{{companyId}}", status(200) + [
            "pm.test('address cleared', () => pm.expect(pm.response.json().address).to.eql(null));"], {"address": None}),
        request("Get unknown company", "GET", "/api/v1/companies/00000000-0000-7000-8000-000000000000", status(404) + PROBLEM + code("company_not_found")),
    ]),
    ("Interests", [
        request("Create interest", "POST", "/api/v1/interests", status(201) + save("interestId"),
            {"name": f"Postman Interest {R}", "description": "Created by the Postman collection"}),
        request("Create interest with a taken name (any case)", "POST", "/api/v1/interests", status(409) + PROBLEM + code("name_taken"),
            {"name": f"POSTMAN INTEREST {R}"}),
        request("List interests", "GET", "/api/v1/interests?q=postman", status(200) + [
            "pm.test('finds the new interest', () => pm.expect(pm.response.json().items.map(i => i.id)).to.include(pm.collectionVariables.get('interestId')));"]),
        request("Get interest", "GET", "/api/v1/interests/{{interestId}}", status(200)),
        request("Update interest", "PATCH", "/api/v1/interests/{{interestId}}", status(200) + [
            "pm.test('description changed', () => pm.expect(pm.response.json().description).to.eql('Updated'));"], {"description": "Updated"}),
    ]),
    ("Clients", [
        request("Create client (both stores)", "POST", "/api/v1/clients", status(201) + save("clientId") + [
            "pm.test('ETag is the version', () => pm.expect(pm.response.headers.get('ETag')).to.eql('\"1\"'));",
            "pm.test('interests kept', () => pm.expect(pm.response.json().interest_ids).to.eql([pm.collectionVariables.get('interestId')]));"],
            {"name": "Postman Client", "email": f"postman.{R}@example.com", "phone": "+1 555 0100 300", "kind": "b2b",
             "company_id": "{{companyId}}", "interest_ids": ["{{interestId}}"], "plan": "premium",
             "preferences": {"language": "en", "notifications": {"email": True}}, "attributes": {"source": "postman"}, "tags": ["postman"]}),
        request("Create client with a taken email", "POST", "/api/v1/clients", status(409) + PROBLEM + code("email_taken"),
            {"name": "Twin", "email": f"POSTMAN.{R}@example.com", "kind": "b2c"}),
        request("Create b2b client without company and with an operator key", "POST", "/api/v1/clients", status(422) + PROBLEM + [
            "pm.test('names the fields', () => pm.expect(pm.response.json().errors.map(e => e.field)).to.include.members(['company_id', 'attributes.$where']));"],
            {"name": "Bad", "email": f"bad.{R}@example.com", "kind": "b2b", "attributes": {"$where": "1"}}),
        request("List clients (filtered, sorted)", "GET", "/api/v1/clients?kind=b2b&sort=-name&limit=10&q=postman", status(200) + [
            "pm.test('finds the client', () => pm.expect(pm.response.json().items.map(c => c.id)).to.include(pm.collectionVariables.get('clientId')));"]),
        request("Get client", "GET", "/api/v1/clients/{{clientId}}", status(200) + [
            "pm.test('has an ETag', () => pm.expect(pm.response.headers.get('ETag')).to.eql('\"' + pm.response.json().version + '\"'));"]),
        request("Update client with If-Match", "PATCH", "/api/v1/clients/{{clientId}}", status(200) + [
            "pm.test('version bumped', () => pm.expect(pm.response.json().version).to.eql(2));"],
            {"plan": "enterprise"}, headers={"If-Match": "\"1\""}),
        request("Update client with a stale If-Match", "PATCH", "/api/v1/clients/{{clientId}}", status(412) + PROBLEM + code("version_mismatch") + [
            "pm.test('tells the current version', () => pm.expect(pm.response.json().current_version).to.eql(2));"],
            {"plan": "basic"}, headers={"If-Match": "\"1\""}),
        request("Complete client view", "GET", "/api/v1/clients/{{clientId}}/view", status(200) + [
            "pm.test('merged from both stores', () => { const b = pm.response.json(); pm.expect(b.company.id).to.eql(pm.collectionVariables.get('companyId')); pm.expect(b.info.preferences.language).to.eql('en'); pm.expect(b.degraded).to.eql(null); });"]),
        request("Malformed JSON", "POST", "/api/v1/clients", status(400) + PROBLEM + code("malformed_json"), '{"name": '),
        request("Unknown client", "GET", "/api/v1/clients/00000000-0000-7000-8000-000000000000", status(404) + PROBLEM + code("client_not_found")),
    ]),
    ("Client info", [
        request("Add comment", "POST", "/api/v1/clients/{{clientId}}/comments", status(201) + save("commentId") + [
            "pm.test('text kept', () => pm.expect(pm.response.json().text).to.eql('Called about workshops'));"], {"text": "Called about workshops"}),
        request("List comments", "GET", "/api/v1/clients/{{clientId}}/comments?limit=10", status(200) + [
            "pm.test('newest first', () => pm.expect(pm.response.json().items[0].id).to.eql(pm.collectionVariables.get('commentId')));"]),
        request("Delete comment", "DELETE", "/api/v1/clients/{{clientId}}/comments/{{commentId}}", status(204)),
        request("Get preferences", "GET", "/api/v1/clients/{{clientId}}/preferences", status(200) + [
            "pm.test('language', () => pm.expect(pm.response.json().language).to.eql('en'));"]),
        request("Replace preferences", "PUT", "/api/v1/clients/{{clientId}}/preferences", status(200) + [
            "pm.test('replaced', () => pm.expect(pm.response.json()).to.eql({language: 'es', payment_method: 'card'}));"],
            {"language": "es", "payment_method": "card"}),
        request("Merge-patch preferences", "PATCH", "/api/v1/clients/{{clientId}}/preferences", status(200) + [
            "pm.test('merged', () => pm.expect(pm.response.json()).to.eql({language: 'es', theme: 'dark'}));"],
            {"payment_method": None, "theme": "dark"}, content_type="application/merge-patch+json"),
        request("Preferences with an operator key", "PUT", "/api/v1/clients/{{clientId}}/preferences", status(422) + PROBLEM + code("validation_failed"),
            {"$set": {"x": 1}}),
        request("Get attributes", "GET", "/api/v1/clients/{{clientId}}/attributes", status(200) + [
            "pm.test('source', () => pm.expect(pm.response.json().source).to.eql('postman'));"]),
        request("Replace attributes", "PUT", "/api/v1/clients/{{clientId}}/attributes", status(200), {"shirt_size": "M", "nested": {"a": 1}}),
        request("Merge-patch attributes", "PATCH", "/api/v1/clients/{{clientId}}/attributes", status(200) + [
            "pm.test('merged', () => pm.expect(pm.response.json()).to.eql({shirt_size: 'L', nested: {a: 1, b: 2}}));"],
            {"shirt_size": "L", "nested": {"b": 2}}),
        request("Attributes with a dotted key", "PATCH", "/api/v1/clients/{{clientId}}/attributes", status(422) + PROBLEM + code("validation_failed"),
            {"a.b": 1}),
    ]),
    ("Stats and errors", [
        request("Client stats", "GET", "/api/v1/stats/clients", status(200) + [
            "pm.test('combined', () => { const b = pm.response.json(); pm.expect(b.total_clients).to.be.above(0); pm.expect(b.documents.info_coverage_percent).to.be.within(0, 100); });"]),
        request("Unknown route", "GET", "/api/v1/nothing", status(404) + PROBLEM + code("route_not_found")),
        request("Wrong method", "PUT", "/api/v1/clients", status(405) + PROBLEM + code("method_not_allowed") + [
            "pm.test('Allow header', () => pm.expect(pm.response.headers.get('Allow')).to.eql('GET, POST'));"]),
    ]),
    ("Clean-up", [
        request("Delete client", "DELETE", "/api/v1/clients/{{clientId}}", status(204)),
        request("Deleted client is gone", "GET", "/api/v1/clients/{{clientId}}", status(404) + PROBLEM + code("client_not_found")),
        request("Delete interest", "DELETE", "/api/v1/interests/{{interestId}}", status(204)),
        request("Delete company", "DELETE", "/api/v1/companies/{{companyId}}", status(204)),
    ]),
]

collection = {
    "info": {
        "name": "Hybrid CRM API",
        "description": "Every endpoint of the Hybrid CRM API with assertions. Generated by postman/generate.py; run with scripts/postman.sh.",
        "schema": "https://schema.getpostman.com/json/collection/v2.1.0/collection.json",
    },
    "event": [{"listen": "prerequest", "script": {"type": "text/javascript", "exec": [
        "if (!pm.collectionVariables.get('runId')) { pm.collectionVariables.set('runId', Date.now().toString()); }"]}}],
    "variable": [{"key": "runId", "value": ""}],
    "item": [{"name": name, "item": items} for name, items in folders],
}
here = pathlib.Path(__file__).parent
(here / "hybrid-crm.postman_collection.json").write_text(json.dumps(collection, indent=2) + "\n")
(here / "local.postman_environment.json").write_text(json.dumps({
    "name": "Hybrid CRM local",
    "values": [{"key": "baseUrl", "value": "http://127.0.0.1:8080", "enabled": True}],
}, indent=2) + "\n")
