#!/usr/bin/env python3
"""Writes hybrid-crm.postman_collection.json: one request per endpoint (and key error paths),
each with test assertions. Run `python3 postman/generate.py` after changing the API."""
import json
import sys
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


def request(name, method, path, tests, body=None, headers=None, content_type="application/json", auth=None):
    """`auth`: None uses the collection's key ({{apiKey}}); "none" sends no key; any other text is the
    name of a variable holding another key."""
    item = {
        "name": name,
        "event": [{"listen": "test", "script": {"type": "text/javascript", "exec": tests}}],
        "request": {
            "method": method,
            "header": [{"key": k, "value": v} for k, v in (headers or {}).items()],
            "url": url(path),
        },
    }
    if auth == "none":
        item["request"]["auth"] = {"type": "noauth"}
    elif auth is not None:
        item["request"]["auth"] = {"type": "bearer", "bearer": [{"key": "token", "value": "{{" + auth + "}}", "type": "string"}]}
    if "?" in path:
        item["request"]["url"]["query"] = [
            {"key": kv.split("=")[0], "value": kv.split("=", 1)[1]} for kv in path.split("?", 1)[1].split("&")
        ]
    if body is not None:
        raw = body if isinstance(body, str) else json.dumps(body, indent=2)
        item["request"]["body"] = {"mode": "raw", "raw": raw}
        item["request"]["header"].append({"key": "Content-Type", "value": content_type})
    return item


def url(path):
    """`path` on the API ({{baseUrl}}), or a whole URL starting with another variable ({{mailUrl}}/…)."""
    if path.startswith("{{"):
        host, rest = path.split("}}", 1)
        return {"raw": path, "host": [host + "}}"], "path": segments(rest)}
    return {"raw": "{{baseUrl}}" + path, "host": ["{{baseUrl}}"], "path": segments(path)}


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
            "pm.test('both stores listed and up', () => { const s = pm.response.json().stores; pm.expect(s.length).to.eql(2); s.forEach(x => pm.expect(x.status).to.eql('up')); });"]),
        request("Readiness without a key", "GET", "/health/ready", status(200) + [
            "pm.test('the same answer without a key: readiness validates none', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('ok'); pm.expect(b.stores.map(x => x.store)).to.eql(['postgresql', 'mongodb']); });"], auth="none"),
        request("Metrics", "GET", "/metrics", status(200) + [
            "pm.test('Prometheus text', () => pm.expect(pm.response.headers.get('Content-Type')).to.include('text/plain'));",
            "pm.test('requests by route template', () => pm.expect(pm.response.text()).to.match(/http_server_request_duration_seconds_count\\{method=\"GET\",route=\"\\/health\\/ready\",status=\"200\"\\} \\d+/));",
            "pm.test('pool and backlogs', () => { pm.expect(pm.response.text()).to.include('postgresql_pool_connections{state=\"max\"}'); pm.expect(pm.response.text()).to.include('background_backlog{queue=\"outbox\"}'); });"], auth="none"),
        request("OpenAPI document", "GET", "/api-docs/openapi.json", status(200) + [
            "pm.test('is OpenAPI 3.1', () => pm.expect(pm.response.json().openapi).to.match(/^3\\.1/));"]),
        request("Swagger UI", "GET", "/swagger-ui/", status(200) + [
            "pm.test('serves HTML', () => pm.expect(pm.response.text()).to.include('swagger'));"]),
    ]),
    ("Access", [
        request("Call the API without a key", "GET", "/api/v1/clients", status(401) + PROBLEM + code("unauthenticated") + [
            "pm.test('Bearer challenge', () => pm.expect(pm.response.headers.get('WWW-Authenticate')).to.include('Bearer'));"], auth="none"),
        request("Create a readonly API key", "POST", "/api/v1/api-keys", status(201) + save("readonlyKeyId") + save("readonlyKey", "pm.response.json().key") + [
            "pm.test('the secret, shown once', () => pm.expect(pm.response.json().key).to.match(/^hcrm_[A-Za-z0-9_-]{43}$/));",
            "pm.test('identified by prefix and last four', () => { const b = pm.response.json(); pm.expect(b.prefix).to.eql('hcrm_'); pm.expect(b.key.endsWith(b.last_four)).to.be.true; });",
            "pm.test('the scopes of the role', () => pm.expect(pm.response.json().scopes).to.include('clients:read').and.not.include('clients:write'));"],
            {"name": f"Postman readonly {R}", "role": "readonly"}),
        request("Create a key with a role and scopes", "POST", "/api/v1/api-keys", status(422) + PROBLEM + [
            "pm.test('names scopes', () => pm.expect(pm.response.json().errors.map(e => e.field)).to.include('scopes'));"],
            {"name": "Both", "role": "sales", "scopes": ["clients:read"]}),
        request("List API keys", "GET", "/api/v1/api-keys?limit=10", status(200) + [
            "pm.test('no secrets listed', () => pm.response.json().items.forEach(k => pm.expect(k).to.not.have.property('key')));"]),
        request("Get an API key", "GET", "/api/v1/api-keys/{{readonlyKeyId}}", status(200) + [
            "pm.test('readonly, not revoked', () => { const b = pm.response.json(); pm.expect(b.role).to.eql('readonly'); pm.expect(b.revoked_at).to.eql(null); pm.expect(b).to.not.have.property('key'); });"]),
        request("Read with the readonly key", "GET", "/api/v1/clients?limit=1", status(200) + [
            "pm.test('rate-limit headers', () => { pm.expect(Number(pm.response.headers.get('RateLimit-Limit'))).to.be.above(0); pm.expect(pm.response.headers.get('RateLimit-Remaining')).to.match(/^\\d+$/); pm.expect(pm.response.headers.get('RateLimit-Reset')).to.match(/^\\d+$/); });",
            "pm.test('not stored by caches', () => pm.expect(pm.response.headers.get('Cache-Control')).to.eql('no-store'));"], auth="readonlyKey"),
        request("Write with the readonly key", "POST", "/api/v1/clients", status(403) + PROBLEM + code("forbidden") + [
            "pm.test('names the missing scope', () => pm.expect(pm.response.json().details.required_scope).to.eql('clients:write'));"],
            {"name": "Nope", "email": f"nope.{R}@example.com", "kind": "b2c"}, auth="readonlyKey"),
        request("Revoke the readonly key", "DELETE", "/api/v1/api-keys/{{readonlyKeyId}}", status(204)),
        request("Call with the revoked key", "GET", "/api/v1/clients?limit=1", status(401) + PROBLEM + code("unauthenticated"), auth="readonlyKey"),
        request("Audit log of the readonly key", "GET", "/api/v1/audit-log?key_id={{readonlyKeyId}}", status(200) + [
            "pm.test('its refused write, with operation and status', () => { const e = pm.response.json().items[0]; pm.expect(e.operation_id).to.eql('create_client'); pm.expect(e.status).to.eql(403); pm.expect(e.method).to.eql('POST'); });",
            "pm.collectionVariables.set('auditEntryId', pm.response.json().items[0].id);"]),
        request("Get an audit entry", "GET", "/api/v1/audit-log/{{auditEntryId}}", status(200) + [
            "pm.test('the same entry', () => { const e = pm.response.json(); pm.expect(e.id).to.eql(pm.collectionVariables.get('auditEntryId')); pm.expect(e.key_id).to.eql(pm.collectionVariables.get('readonlyKeyId')); });"]),
        request("Get an unknown audit entry", "GET", "/api/v1/audit-log/00000000-0000-7000-8000-000000000000", status(404) + PROBLEM + code("audit_entry_not_found")),
    ]),
    ("Staff sign-in", [
        request("Create a staff user", "POST", "/api/v1/users", status(201) + save("staffUserId") + [
            "pm.test('the role and its scopes, no password', () => { const b = pm.response.json(); pm.expect(b.role).to.eql('sales'); pm.expect(b.scopes).to.include('clients:write').and.not.include('admin:read'); pm.expect(b).to.not.have.property('password'); pm.expect(b).to.not.have.property('password_hash'); });",
            "pm.test('Location and ETag', () => { pm.expect(pm.response.headers.get('Location')).to.eql('/api/v1/users/' + pm.response.json().id); pm.expect(pm.response.headers.get('ETag')).to.eql('\"1\"'); });"],
            {"name": "Postman Staff", "email": f"staff.{R}@example.com", "role": "sales", "password": "first passphrase of postman"}),
        request("Create a staff user with a common password", "POST", "/api/v1/users", status(422) + PROBLEM + [
            "pm.test('names the password: too common', () => { const e = pm.response.json().errors.find(e => e.field === 'password'); pm.expect(e.code).to.eql('too_common'); });"],
            {"name": "Weak", "email": f"weak.{R}@example.com", "role": "sales", "password": "password123"}),
        request("List staff users", "GET", f"/api/v1/users?q=staff.{R}", status(200) + [
            "pm.test('the new user', () => pm.expect(pm.response.json().items.map(u => u.id)).to.include(pm.collectionVariables.get('staffUserId')));"]),
        request("Get a staff user", "GET", "/api/v1/users/{{staffUserId}}", status(200) + [
            "pm.test('active, sales', () => { const b = pm.response.json(); pm.expect(b.active).to.be.true; pm.expect(b.role).to.eql('sales'); });"]),
        request("Sign in with a wrong password", "POST", "/api/v1/auth/sign-in", status(401) + PROBLEM + code("invalid_credentials") + save("wrongPasswordDetail", "pm.response.json().detail"),
            {"email": f"staff.{R}@example.com", "password": "not the passphrase"}, auth="none"),
        request("Sign in with an unknown email", "POST", "/api/v1/auth/sign-in", status(401) + PROBLEM + code("invalid_credentials") + [
            "pm.test('the same answer as a wrong password', () => pm.expect(pm.response.json().detail).to.eql(pm.collectionVariables.get('wrongPasswordDetail')));"],
            {"email": f"nobody.{R}@example.com", "password": "not the passphrase"}, auth="none"),
        request("Sign in", "POST", "/api/v1/auth/sign-in", status(200) + save("staffAccess", "pm.response.json().access_token") + save("staffRefresh", "pm.response.json().refresh_token") + save("staffSessionId", "pm.response.json().session_id") + [
            "pm.test('bearer tokens of their kinds', () => { const b = pm.response.json(); pm.expect(b.token_type).to.eql('Bearer'); pm.expect(b.access_token).to.match(/^hcrm_at_[A-Za-z0-9_-]{43}$/); pm.expect(b.refresh_token).to.match(/^hcrm_rt_[A-Za-z0-9_-]{43}$/); pm.expect(b.expires_in).to.be.above(0); });",
            "pm.test('never cached', () => pm.expect(pm.response.headers.get('Cache-Control')).to.include('no-store'));"],
            {"email": f"staff.{R}@example.com", "password": "first passphrase of postman", "device": "Postman"}, auth="none"),
        request("My profile", "GET", "/api/v1/auth/me", status(200) + [
            "pm.test('the signed-in user', () => { const b = pm.response.json(); pm.expect(b.id).to.eql(pm.collectionVariables.get('staffUserId')); pm.expect(b.role).to.eql('sales'); });"], auth="staffAccess"),
        request("Read clients with a staff token", "GET", "/api/v1/clients?limit=1", status(200) + [
            "pm.test('a page', () => pm.expect(pm.response.json().items).to.be.an('array'));"], auth="staffAccess"),
        request("Create an API key with a sales token", "POST", "/api/v1/api-keys", status(403) + PROBLEM + code("forbidden") + [
            "pm.test('names the missing scope', () => pm.expect(pm.response.json().details.required_scope).to.eql('admin:write'));"],
            {"name": "Not allowed", "role": "readonly"}, auth="staffAccess"),
        request("My sessions with an API key", "GET", "/api/v1/auth/sessions", status(403) + PROBLEM + code("forbidden")),
        request("Sign in on a second device", "POST", "/api/v1/auth/sign-in", status(200) + save("secondAccess", "pm.response.json().access_token") + save("secondSessionId", "pm.response.json().session_id"),
            {"email": f"staff.{R}@example.com", "password": "first passphrase of postman", "device": "Second device"}, auth="none"),
        request("My sessions", "GET", "/api/v1/auth/sessions", status(200) + [
            "pm.test('both, the current one marked', () => { const items = pm.response.json().items; pm.expect(items.map(s => s.id)).to.include.members([pm.collectionVariables.get('staffSessionId'), pm.collectionVariables.get('secondSessionId')]); pm.expect(items.find(s => s.current).id).to.eql(pm.collectionVariables.get('staffSessionId')); });"], auth="staffAccess"),
        request("End the second session", "DELETE", "/api/v1/auth/sessions/{{secondSessionId}}", status(204), auth="staffAccess"),
        request("Call with the ended session's token", "GET", "/api/v1/auth/me", status(401) + PROBLEM + code("unauthenticated"), auth="secondAccess"),
        request("Refresh", "POST", "/api/v1/auth/refresh", status(200) + save("spentRefresh", "pm.collectionVariables.get('staffRefresh')") + save("staffAccess", "pm.response.json().access_token") + save("staffRefresh", "pm.response.json().refresh_token") + [
            "pm.test('new tokens for the same session', () => { const b = pm.response.json(); pm.expect(b.session_id).to.eql(pm.collectionVariables.get('staffSessionId')); pm.expect(b.refresh_token).to.not.eql(pm.collectionVariables.get('spentRefresh')); });"],
            {"refresh_token": "{{staffRefresh}}"}, auth="none"),
        request("Change my password with a wrong current one", "POST", "/api/v1/auth/password", status(422) + PROBLEM + [
            "pm.test('names current_password', () => pm.expect(pm.response.json().errors[0].field).to.eql('current_password'));"],
            {"current_password": "not it", "new_password": "second passphrase of postman"}, auth="staffAccess"),
        request("Change my password", "POST", "/api/v1/auth/password", status(204),
            {"current_password": "first passphrase of postman", "new_password": "second passphrase of postman"}, auth="staffAccess"),
        request("Refresh with a spent token", "POST", "/api/v1/auth/refresh", status(401) + PROBLEM + code("invalid_refresh_token"),
            {"refresh_token": "{{spentRefresh}}"}, auth="none"),
        request("The reused token's session has ended", "GET", "/api/v1/auth/me", status(401) + PROBLEM + code("unauthenticated"), auth="staffAccess"),
        request("Sign in with the new password", "POST", "/api/v1/auth/sign-in", status(200) + save("staffAccess", "pm.response.json().access_token"),
            {"email": f"staff.{R}@example.com", "password": "second passphrase of postman"}, auth="none"),
        request("Sign out", "POST", "/api/v1/auth/sign-out", status(204), auth="staffAccess"),
        request("Call after signing out", "GET", "/api/v1/auth/me", status(401) + PROBLEM + code("unauthenticated"), auth="staffAccess"),
        request("Disable the staff user", "PATCH", "/api/v1/users/{{staffUserId}}", status(200) + [
            "pm.test('inactive', () => pm.expect(pm.response.json().active).to.be.false);"], {"active": False}),
        request("Sign in as a disabled user", "POST", "/api/v1/auth/sign-in", status(401) + PROBLEM + code("invalid_credentials"),
            {"email": f"staff.{R}@example.com", "password": "second passphrase of postman"}, auth="none"),
    ]),
    ("Storefront", [
        request("Register a customer", "POST", "/api/v1/store/register", status(202) + [
            "pm.test('the same answer for every email', () => pm.expect(pm.response.json().detail).to.include('link'));"],
            {"name": "Postman Shopper", "email": f"shop.{R}@example.com", "password": "shopper passphrase one"}, auth="none"),
        request("Read the verification mail", "GET", f"{{{{mailUrl}}}}/messages?to=shop.{R}@example.com", status(200) + [
            "const mails = pm.response.json().filter(m => m.subject === 'Confirm your email');",
            "pm.test('a link with a token', () => pm.expect(mails[mails.length - 1].token).to.match(/^hcrm_et_/));",
            "pm.collectionVariables.set('verifyToken', mails[mails.length - 1].token);"], auth="none"),
        request("Sign in before verifying", "POST", "/api/v1/store/auth/sign-in", status(403) + PROBLEM + code("email_not_verified"),
            {"email": f"shop.{R}@example.com", "password": "shopper passphrase one"}, auth="none"),
        request("Verify the email", "POST", "/api/v1/store/auth/verify-email", status(204), {"token": "{{verifyToken}}"}, auth="none"),
        request("Verify with a used link", "POST", "/api/v1/store/auth/verify-email", status(401) + PROBLEM + code("invalid_token"),
            {"token": "{{verifyToken}}"}, auth="none"),
        request("Store sign-in", "POST", "/api/v1/store/auth/sign-in", status(200) + save("storeAccess", "pm.response.json().access_token") + save("storeRefresh", "pm.response.json().refresh_token") + save("storeSessionId", "pm.response.json().session_id") + [
            "pm.test('bearer tokens', () => { const b = pm.response.json(); pm.expect(b.token_type).to.eql('Bearer'); pm.expect(b.access_token).to.match(/^hcrm_at_/); });"],
            {"email": f"shop.{R}@example.com", "password": "shopper passphrase one", "device": "Postman phone"}, auth="none"),
        request("My store profile", "GET", "/api/v1/store/me", status(200) + save("storeProfileEtag", "pm.response.headers.get('ETag')") + [
            "pm.test('the customer', () => { const b = pm.response.json(); pm.expect(b.email).to.eql('shop.' + pm.collectionVariables.get('runId') + '@example.com'); pm.expect(b.name).to.eql('Postman Shopper'); });"], auth="storeAccess"),
        request("Change my store profile", "PATCH", "/api/v1/store/me", status(200) + [
            "pm.test('the new phone', () => pm.expect(pm.response.json().phone).to.eql('+34 600 000 000'));"],
            {"phone": "+34 600 000 000"}, headers={"If-Match": "{{storeProfileEtag}}"}, auth="storeAccess"),
        request("Change my store profile with a stale ETag", "PATCH", "/api/v1/store/me", status(412) + PROBLEM + code("version_mismatch"),
            {"name": "Too late"}, headers={"If-Match": "{{storeProfileEtag}}"}, auth="storeAccess"),
        request("A staff route with a store token", "GET", "/api/v1/clients?limit=1", status(403) + PROBLEM + code("forbidden"), auth="storeAccess"),
        request("The store profile with an API key", "GET", "/api/v1/store/me", status(403) + PROBLEM + code("forbidden")),
        request("My store sessions", "GET", "/api/v1/store/auth/sessions", status(200) + [
            "pm.test('the current one', () => pm.expect(pm.response.json().items.find(s => s.current).id).to.eql(pm.collectionVariables.get('storeSessionId')));"], auth="storeAccess"),
        request("A store refresh token at the staff endpoint", "POST", "/api/v1/auth/refresh", status(401) + PROBLEM + code("invalid_refresh_token"),
            {"refresh_token": "{{storeRefresh}}"}, auth="none"),
        request("Store refresh", "POST", "/api/v1/store/auth/refresh", status(200) + save("storeAccess", "pm.response.json().access_token") + [
            "pm.test('the same session', () => pm.expect(pm.response.json().session_id).to.eql(pm.collectionVariables.get('storeSessionId')));"],
            {"refresh_token": "{{storeRefresh}}"}, auth="none"),
        request("Change my store password", "POST", "/api/v1/store/auth/password", status(204),
            {"current_password": "shopper passphrase one", "new_password": "shopper passphrase two"}, auth="storeAccess"),
        request("Ask a reset for an unknown email", "POST", "/api/v1/store/auth/password-reset", status(202),
            {"email": f"nobody.{R}@example.com"}, auth="none"),
        request("Ask a password reset", "POST", "/api/v1/store/auth/password-reset", status(202) + [
            "pm.test('the same answer as for an unknown email', () => pm.expect(pm.response.json().detail).to.include('link'));"],
            {"email": f"shop.{R}@example.com"}, auth="none"),
        request("Read the reset mail", "GET", f"{{{{mailUrl}}}}/messages?to=shop.{R}@example.com", status(200) + [
            "const mails = pm.response.json().filter(m => m.subject === 'Reset your password');",
            "pm.test('a link with a token', () => pm.expect(mails[mails.length - 1].token).to.match(/^hcrm_et_/));",
            "pm.collectionVariables.set('resetToken', mails[mails.length - 1].token);"], auth="none"),
        request("Reset the password", "POST", "/api/v1/store/auth/password-reset/confirm", status(204),
            {"token": "{{resetToken}}", "new_password": "shopper passphrase three"}, auth="none"),
        request("A reset ended every session", "GET", "/api/v1/store/me", status(401) + PROBLEM + code("unauthenticated"), auth="storeAccess"),
        request("Store sign-in with the new password", "POST", "/api/v1/store/auth/sign-in", status(200) + save("storeAccess", "pm.response.json().access_token"),
            {"email": f"shop.{R}@example.com", "password": "shopper passphrase three"}, auth="none"),
        request("Store sign-in on another device", "POST", "/api/v1/store/auth/sign-in", status(200) + save("storeOtherSessionId", "pm.response.json().session_id"),
            {"email": f"shop.{R}@example.com", "password": "shopper passphrase three", "device": "Tablet"}, auth="none"),
        request("End my other store session", "DELETE", "/api/v1/store/auth/sessions/{{storeOtherSessionId}}", status(204), auth="storeAccess"),
        request("Store sign-out", "POST", "/api/v1/store/auth/sign-out", status(204), auth="storeAccess"),
        request("Call after the store sign-out", "GET", "/api/v1/store/me", status(401) + PROBLEM + code("unauthenticated"), auth="storeAccess"),
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
            "pm.test('the same company', () => pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('companyId')));",
            "pm.test('a strong ETag: the version', () => pm.expect(pm.response.headers.get('ETag')).to.match(/^\"[0-9]+\"$/));",
            "pm.collectionVariables.set('companyEtag', pm.response.headers.get('ETag'));"]),
        request("Get company if changed", "GET", "/api/v1/companies/{{companyId}}", status(304) + [
            "pm.test('no body', () => pm.expect(pm.response.text()).to.eql(''));",
            "pm.test('the same ETag', () => pm.expect(pm.response.headers.get('ETag')).to.eql(pm.collectionVariables.get('companyEtag')));"],
            headers={"If-None-Match": "{{companyEtag}}"}),
        request("Update company if unchanged", "PATCH", "/api/v1/companies/{{companyId}}", status(200) + [
            "pm.test('address cleared', () => pm.expect(pm.response.json().address).to.eql(null));",
            "pm.test('a new ETag', () => pm.expect(pm.response.headers.get('ETag')).to.not.eql(pm.collectionVariables.get('companyEtag')));"],
            {"address": None}, headers={"If-Match": "{{companyEtag}}"}),
        request("Update company with a stale If-Match", "PATCH", "/api/v1/companies/{{companyId}}", status(412) + PROBLEM + code("version_mismatch") + [
            "pm.test('names the current ETag', () => pm.expect(pm.response.json().current_etag).to.not.eql(pm.collectionVariables.get('companyEtag')));"],
            {"phone": None}, headers={"If-Match": "{{companyEtag}}"}),
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
             "company_id": "{{companyId}}", "interest_ids": ["{{interestId}}"],
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
            {"active": True}, headers={"If-Match": "\"1\""}),
        request("Update client with a stale If-Match", "PATCH", "/api/v1/clients/{{clientId}}", status(412) + PROBLEM + code("version_mismatch") + [
            "pm.test('tells the current version', () => pm.expect(pm.response.json().current_version).to.eql(2));"],
            {"active": False}, headers={"If-Match": "\"1\""}),
        request("Complete client view", "GET", "/api/v1/clients/{{clientId}}/view", status(200) + [
            "pm.test('merged from both stores', () => { const b = pm.response.json(); pm.expect(b.company.id).to.eql(pm.collectionVariables.get('companyId')); pm.expect(b.info.preferences.language).to.eql('en'); pm.expect(b.info_status).to.eql('present'); pm.expect(b.degraded).to.eql(null); });"]),
        request("Malformed JSON", "POST", "/api/v1/clients", status(400) + PROBLEM + code("malformed_json"), '{"name": '),
        request("Unknown client", "GET", "/api/v1/clients/00000000-0000-7000-8000-000000000000", status(404) + PROBLEM + code("client_not_found")),
    ]),
    ("Client info", [
        request("Add comment", "POST", "/api/v1/clients/{{clientId}}/comments", status(201) + save("commentId") + [
            "pm.test('text kept', () => pm.expect(pm.response.json().text).to.eql('Called about workshops'));"], {"text": "Called about workshops"}),
        request("List comments", "GET", "/api/v1/clients/{{clientId}}/comments?limit=10", status(200) + [
            "pm.test('newest first', () => pm.expect(pm.response.json().items[0].id).to.eql(pm.collectionVariables.get('commentId')));"]),
        request("Get comment (its Location)", "GET", "/api/v1/clients/{{clientId}}/comments/{{commentId}}", status(200) + [
            "pm.test('the comment added', () => { const b = pm.response.json(); pm.expect(b.id).to.eql(pm.collectionVariables.get('commentId')); pm.expect(b.text).to.eql('Called about workshops'); });"]),
        request("Delete comment", "DELETE", "/api/v1/clients/{{clientId}}/comments/{{commentId}}", status(204)),
        request("Deleted comment is gone", "GET", "/api/v1/clients/{{clientId}}/comments/{{commentId}}", status(404) + PROBLEM + code("comment_not_found")),
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
    ("Catalog", [
        request("Create category (slug derived from the name)", "POST", "/api/v1/categories", status(201) + save("categoryId") + [
            "pm.test('slug derived', () => pm.expect(pm.response.json().slug).to.eql('postman-kits-' + pm.collectionVariables.get('runId')));"],
            {"name": f"Postman Kits {R}"}),
        request("Create category with a taken name", "POST", "/api/v1/categories", status(409) + PROBLEM + code("name_taken"),
            {"name": f"POSTMAN KITS {R}", "slug": f"other-{R}"}),
        request("List categories", "GET", "/api/v1/categories?q=postman", status(200) + [
            "pm.test('finds the category', () => pm.expect(pm.response.json().items.map(c => c.id)).to.include(pm.collectionVariables.get('categoryId')));"]),
        request("Get category", "GET", "/api/v1/categories/{{categoryId}}", status(200)),
        request("Update category", "PATCH", "/api/v1/categories/{{categoryId}}", status(200) + [
            "pm.test('description set', () => pm.expect(pm.response.json().description).to.eql('Kits for the Postman run'));"],
            {"description": "Kits for the Postman run"}),
        request("Create product", "POST", "/api/v1/products", status(201) + save("productId") + [
            "pm.test('money is a decimal string', () => pm.expect(pm.response.json().price).to.eql('24.90'));",
            "pm.test('stock status derived', () => pm.expect(pm.response.json().stock_status).to.eql('optimal'));"],
            {"name": f"Postman Dovetail Kit {R}", "price": "24.90", "stock": 10, "reorder_point": 2, "category_id": "{{categoryId}}"}),
        request("Create product with a float price", "POST", "/api/v1/products", status(422) + PROBLEM + [
            "pm.test('names price', () => pm.expect(pm.response.json().errors.map(e => e.field)).to.eql(['price']));"],
            {"name": "Float", "price": 19.99}),
        request("List products (filtered, sorted)", "GET", "/api/v1/products?category_id={{categoryId}}&sort=-price&limit=10", status(200) + [
            "pm.test('finds the product', () => pm.expect(pm.response.json().items.map(p => p.id)).to.include(pm.collectionVariables.get('productId')));"]),
        request("Get product", "GET", "/api/v1/products/{{productId}}", status(200) + [
            "pm.test('stock', () => pm.expect(pm.response.json().stock).to.eql(10));"]),
        request("Update product", "PATCH", "/api/v1/products/{{productId}}", status(200) + [
            "pm.test('critical at the reorder point', () => pm.expect(pm.response.json().stock_status).to.eql('critical'));"],
            {"reorder_point": 10}),
        request("Stock movement in", "POST", "/api/v1/products/{{productId}}/stock-movements", status(201) + [
            "pm.test('resulting stock', () => pm.expect(pm.response.json().resulting_stock).to.eql(15));"],
            {"kind": "in", "quantity": 5, "reason": "supplier delivery"}),
        request("Stock movement out beyond the stock", "POST", "/api/v1/products/{{productId}}/stock-movements", status(409) + PROBLEM + code("insufficient_stock"),
            {"kind": "out", "quantity": 16, "reason": "breakage"}),
        request("List stock movements", "GET", "/api/v1/products/{{productId}}/stock-movements", status(200) + [
            "pm.test('newest first, initial stock last', () => { const items = pm.response.json().items; pm.expect(items[0].kind).to.eql('in'); pm.expect(items[items.length - 1].reason).to.eql('initial stock'); });"]),
        request("Create throwaway product", "POST", "/api/v1/products", status(201) + save("throwawayProductId"),
            {"name": f"Postman Throwaway {R}", "price": "1.00"}),
        request("Delete product", "DELETE", "/api/v1/products/{{throwawayProductId}}", status(204)),
        request("Delete category in use", "DELETE", "/api/v1/categories/{{categoryId}}", status(409) + PROBLEM + code("category_in_use")),
        request("Create throwaway category", "POST", "/api/v1/categories", status(201) + save("throwawayCategoryId"),
            {"name": f"Postman Throwaway {R}"}),
        request("Delete category", "DELETE", "/api/v1/categories/{{throwawayCategoryId}}", status(204)),
    ]),
    ("Coupons", [
        request("Create coupon", "POST", "/api/v1/coupons", status(201) + save("couponId") + [
            "pm.test('no redemptions yet', () => pm.expect(pm.response.json().redemptions).to.eql(0));"],
            {"code": f"PM{R}", "kind": "percentage", "value": "10", "max_redemptions": 100, "once_per_client": True}),
        request("Create coupon with a taken code (any case)", "POST", "/api/v1/coupons", status(409) + PROBLEM + code("code_taken"),
            {"code": f"pm{R}", "kind": "fixed_amount", "value": "5"}),
        request("List coupons", "GET", "/api/v1/coupons?q=pm", status(200) + [
            "pm.test('a page', () => pm.expect(pm.response.json().items).to.be.an('array'));"]),
        request("Get coupon", "GET", "/api/v1/coupons/{{couponId}}", status(200)),
        request("Update coupon", "PATCH", "/api/v1/coupons/{{couponId}}", status(200) + [
            "pm.test('description set', () => pm.expect(pm.response.json().description).to.eql('Postman run'));"],
            {"description": "Postman run"}),
        request("Create throwaway coupon", "POST", "/api/v1/coupons", status(201) + save("throwawayCouponId"),
            {"code": f"TMP{R}", "kind": "fixed_amount", "value": "1"}),
        request("Delete coupon", "DELETE", "/api/v1/coupons/{{throwawayCouponId}}", status(204)),
    ]),
    ("Orders", [
        request("Create ordering client", "POST", "/api/v1/clients", status(201) + save("orderClientId"),
            {"name": "Postman Buyer", "email": f"buyer.{R}@example.com", "kind": "b2c", "preferences": {"language": "pt-BR"}}),
        request("Place order with a coupon", "POST", "/api/v1/orders", status(201) + save("orderId") + [
            "pm.test('exact totals', () => { const b = pm.response.json(); pm.expect([b.subtotal, b.discount, b.total]).to.eql(['49.80', '4.98', '44.82']); });",
            "pm.test('pending', () => pm.expect(pm.response.json().status).to.eql('pending'));"],
            {"client_id": "{{orderClientId}}", "items": [{"product_id": "{{productId}}", "quantity": 2}],
             "shipping_address": "1 Test Street", "payment_method": "card", "coupon_code": f"pm{R}"}),
        request("Place order beyond the stock", "POST", "/api/v1/orders", status(409) + PROBLEM + code("insufficient_stock") + [
            "pm.test('names what is available', () => pm.expect(pm.response.json().details.available).to.eql(13));"],
            {"client_id": "{{orderClientId}}", "items": [{"product_id": "{{productId}}", "quantity": 99}],
             "shipping_address": "1 Test Street", "payment_method": "card"}),
        request("List orders of a client", "GET", "/api/v1/orders?client_id={{orderClientId}}", status(200) + [
            "pm.test('finds the order', () => pm.expect(pm.response.json().items.map(o => o.id)).to.eql([pm.collectionVariables.get('orderId')]));"]),
        request("Get order", "GET", "/api/v1/orders/{{orderId}}", status(200) + [
            "pm.test('price snapshot', () => pm.expect(pm.response.json().items[0].unit_price).to.eql('24.90'));"]),
        request("Complete order view", "GET", "/api/v1/orders/{{orderId}}/view", status(200) + [
            "pm.test('merged from both stores', () => { const b = pm.response.json(); pm.expect(b.client.id).to.eql(pm.collectionVariables.get('orderClientId')); pm.expect(b.client_preferences.language).to.eql('pt-BR'); pm.expect(b.info_status).to.eql('present'); pm.expect(b.degraded).to.eql(null); });"]),
        request("Confirm order", "POST", "/api/v1/orders/{{orderId}}/status", status(200) + [
            "pm.test('confirmed', () => pm.expect(pm.response.json().status).to.eql('confirmed'));"],
            {"status": "confirmed", "note": "paid by card"}),
        request("Invalid transition", "POST", "/api/v1/orders/{{orderId}}/status", status(409) + PROBLEM + code("invalid_transition") + [
            "pm.test('lists the allowed ones', () => pm.expect(pm.response.json().details.allowed).to.eql(['processing', 'cancelled']));"],
            {"status": "delivered"}),
        request("Cancel order", "POST", "/api/v1/orders/{{orderId}}/cancel", status(200) + [
            "pm.test('cancelled with history', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('cancelled'); pm.expect(b.status_history.length).to.eql(3); });"],
            {"note": "changed their mind"}),
        request("Stock is back after the cancellation", "GET", "/api/v1/products/{{productId}}", status(200) + [
            "pm.test('stock restored', () => pm.expect(pm.response.json().stock).to.eql(15));"]),
        request("Delete a product that was ordered", "DELETE", "/api/v1/products/{{productId}}", status(409) + PROBLEM + code("product_in_use")),
        request("Delete a coupon that was used", "DELETE", "/api/v1/coupons/{{couponId}}", status(409) + PROBLEM + code("coupon_in_use")),
        request("Delete a client with orders", "DELETE", "/api/v1/clients/{{orderClientId}}", status(409) + PROBLEM + code("client_in_use")),
        request("Deactivate the ordering client instead", "PATCH", "/api/v1/clients/{{orderClientId}}", status(200) + [
            "pm.test('inactive', () => pm.expect(pm.response.json().active).to.eql(false));"], {"active": False}),
    ]),
    ("Storefront orders", [
        request("Store sign-in for orders", "POST", "/api/v1/store/auth/sign-in", status(200) + save("storeAccess", "pm.response.json().access_token"),
            {"email": f"shop.{R}@example.com", "password": "shopper passphrase three"}, auth="none"),
        request("The shopper's client", "GET", "/api/v1/store/me", status(200) + save("storeClientId", "pm.response.json().client_id"), auth="storeAccess"),
        request("Staff place an order for the shopper", "POST", "/api/v1/orders", status(201) + save("storeOrderId"),
            {"client_id": "{{storeClientId}}", "items": [{"product_id": "{{productId}}", "quantity": 1}],
             "shipping_address": "5 Shop Street", "payment_method": "card"}),
        request("List my orders", "GET", "/api/v1/store/me/orders", status(200) + [
            "pm.test('only the order of the shopper', () => { const items = pm.response.json().items; pm.expect(items.map(o => o.id)).to.eql([pm.collectionVariables.get('storeOrderId')]); pm.expect(items[0].cancellable).to.be.true; });"], auth="storeAccess"),
        request("Get my order", "GET", "/api/v1/store/me/orders/{{storeOrderId}}", status(200) + save("storeOrderEtag", "pm.response.headers.get('ETag')") + [
            "pm.test('lines and totals', () => { const b = pm.response.json(); pm.expect(b.items).to.have.lengthOf(1); pm.expect(b.total).to.match(/^[0-9]+\\.[0-9]{2}$/); pm.expect(b).to.not.have.property('client_id'); });"], auth="storeAccess"),
        request("Get another client's order", "GET", "/api/v1/store/me/orders/{{orderId}}", status(404) + PROBLEM + code("order_not_found"), auth="storeAccess"),
        request("Cancel another client's order", "POST", "/api/v1/store/me/orders/{{orderId}}/cancel", status(404) + PROBLEM + code("order_not_found"), auth="storeAccess"),
        request("Cancel my order", "POST", "/api/v1/store/me/orders/{{storeOrderId}}/cancel", status(200) + [
            "pm.test('cancelled', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('cancelled'); pm.expect(b.cancellable).to.be.false; });"],
            headers={"If-Match": "{{storeOrderEtag}}"}, auth="storeAccess"),
        request("Cancel my order again", "POST", "/api/v1/store/me/orders/{{storeOrderId}}/cancel", status(409) + PROBLEM + code("invalid_transition"), auth="storeAccess"),
        request("The shopper's account", "GET", "/api/v1/clients/{{storeClientId}}/account", status(200) + save("storeAccountEtag", "pm.response.headers.get('ETag')") + [
            "pm.test('verified and active, no secrets', () => { const b = pm.response.json(); pm.expect(b.active).to.be.true; pm.expect(b.email_verified_at).to.not.eql(null); pm.expect(b).to.not.have.property('password_hash'); });"]),
        request("Disable the shopper's account", "PATCH", "/api/v1/clients/{{storeClientId}}/account", status(200) + save("storeAccountEtag", "pm.response.headers.get('ETag')") + [
            "pm.test('inactive', () => pm.expect(pm.response.json().active).to.be.false);"],
            {"active": False}, headers={"If-Match": "{{storeAccountEtag}}"}),
        request("A disabled account's session has ended", "GET", "/api/v1/store/me", status(401) + PROBLEM + code("unauthenticated"), auth="storeAccess"),
        request("Enable the shopper's account", "PATCH", "/api/v1/clients/{{storeClientId}}/account", status(200) + [
            "pm.test('active', () => pm.expect(pm.response.json().active).to.be.true);"],
            {"active": True}, headers={"If-Match": "{{storeAccountEtag}}"}),
    ]),
    ("Workshops and enrollments", [
        request("Create workshop", "POST", "/api/v1/workshops", status(201) + save("workshopId") + [
            "pm.test('all seats free', () => pm.expect(pm.response.json().seats_available).to.eql(2));"],
            {"name": f"Postman Dovetails {R}", "category_id": "{{interestId}}", "starts_at": "2099-06-01T15:00:00Z",
             "duration_minutes": 180, "modality": "in_person", "location": "12 Mill Lane", "price": "80.00", "capacity": 2}),
        request("Create online workshop without a link", "POST", "/api/v1/workshops", status(422) + PROBLEM + [
            "pm.test('names link', () => pm.expect(pm.response.json().errors.map(e => e.field)).to.eql(['link']));"],
            {"name": f"Postman Online {R}", "category_id": "{{interestId}}", "starts_at": "2099-06-01T15:00:00Z",
             "duration_minutes": 60, "modality": "online", "price": "10.00", "capacity": 10}),
        request("List upcoming workshops with seats", "GET", "/api/v1/workshops?category_id={{interestId}}&upcoming=true&has_seats=true", status(200) + [
            "pm.test('finds the workshop', () => pm.expect(pm.response.json().items.map(w => w.id)).to.include(pm.collectionVariables.get('workshopId')));"]),
        request("Get workshop", "GET", "/api/v1/workshops/{{workshopId}}", status(200)),
        request("Update workshop", "PATCH", "/api/v1/workshops/{{workshopId}}", status(200) + [
            "pm.test('duration changed', () => pm.expect(pm.response.json().duration_minutes).to.eql(240));"], {"duration_minutes": 240}),
        request("Create enrolling client", "POST", "/api/v1/clients", status(201) + save("enrollClientId"),
            {"name": "Postman Learner", "email": f"learner.{R}@example.com", "kind": "b2c"}),
        request("Enroll", "POST", "/api/v1/workshops/{{workshopId}}/enrollments", status(201) + save("enrollmentId") + [
            "pm.test('pending payment', () => pm.expect(pm.response.json().status).to.eql('pending_payment'));"],
            {"client_id": "{{enrollClientId}}"}),
        request("Enroll twice", "POST", "/api/v1/workshops/{{workshopId}}/enrollments", status(409) + PROBLEM + code("already_enrolled"),
            {"client_id": "{{enrollClientId}}"}),
        request("Pay part of the enrollment", "POST", "/api/v1/enrollments/{{enrollmentId}}/payments", status(201) + [
            "pm.test('partially paid', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('partially_paid'); pm.expect(b.balance).to.eql('50.00'); });"],
            {"amount": "30.00", "method": "cash"}),
        request("Overpay", "POST", "/api/v1/enrollments/{{enrollmentId}}/payments", status(409) + PROBLEM + code("overpayment") + [
            "pm.test('says the balance', () => pm.expect(pm.response.json().details.balance).to.eql('50.00'));"],
            {"amount": "60.00", "method": "card"}),
        request("List payments", "GET", "/api/v1/enrollments/{{enrollmentId}}/payments", status(200) + [
            "pm.test('a page of one payment', () => { const b = pm.response.json(); pm.expect(b.items.length).to.eql(1); pm.expect(b.next_cursor).to.eql(null); });"]),
        request("Debtors list", "GET", "/api/v1/enrollments?unpaid=true&workshop_id={{workshopId}}", status(200) + [
            "pm.test('lists the enrollment', () => pm.expect(pm.response.json().items.map(e => e.id)).to.eql([pm.collectionVariables.get('enrollmentId')]));"]),
        request("Get enrollment", "GET", "/api/v1/enrollments/{{enrollmentId}}", status(200)),
        request("Client view shows the enrollment", "GET", "/api/v1/clients/{{enrollClientId}}/view", status(200) + [
            "pm.test('upcoming and unpaid', () => { const a = pm.response.json().activity; pm.expect(a.upcoming_workshops[0].workshop_id).to.eql(pm.collectionVariables.get('workshopId')); pm.expect(a.unpaid_enrollments[0].balance).to.eql('50.00'); });"]),
        request("Cancel enrollment", "POST", "/api/v1/enrollments/{{enrollmentId}}/cancel", status(200) + [
            "pm.test('cancelled', () => pm.expect(pm.response.json().status).to.eql('cancelled'));"]),
        request("Cancel enrollment again", "POST", "/api/v1/enrollments/{{enrollmentId}}/cancel", status(409) + PROBLEM + code("already_cancelled")),
        request("Seat is free again", "GET", "/api/v1/workshops/{{workshopId}}", status(200) + [
            "pm.test('released', () => pm.expect(pm.response.json().seats_available).to.eql(2));"]),
        request("Delete a workshop with enrollments", "DELETE", "/api/v1/workshops/{{workshopId}}", status(409) + PROBLEM + code("workshop_in_use")),
        request("Deactivate workshop", "PATCH", "/api/v1/workshops/{{workshopId}}", status(200), {"active": False}),
        request("Deactivate the enrolling client", "PATCH", "/api/v1/clients/{{enrollClientId}}", status(200), {"active": False}),
        request("Create throwaway workshop", "POST", "/api/v1/workshops", status(201) + save("throwawayWorkshopId"),
            {"name": f"Postman Throwaway {R}", "category_id": "{{interestId}}", "starts_at": "2099-06-01T15:00:00Z",
             "duration_minutes": 60, "modality": "online", "link": "https://meet.example.com/x", "price": "5.00", "capacity": 5}),
        request("Delete workshop", "DELETE", "/api/v1/workshops/{{throwawayWorkshopId}}", status(204)),
    ]),
    ("Storefront enrollments and payments", [
        request("Store sign-in for enrollments", "POST", "/api/v1/store/auth/sign-in", status(200) + save("storeAccess", "pm.response.json().access_token"),
            {"email": f"shop.{R}@example.com", "password": "shopper passphrase three"}, auth="none"),
        request("Staff open a workshop the shopper may cancel until it starts", "POST", "/api/v1/workshops", status(201) + save("storeWorkshopId") + [
            "pm.test('the cancellation window', () => pm.expect(pm.response.json().cancellation_hours).to.eql(0));"],
            {"name": f"Postman Store Class {R}", "category_id": "{{interestId}}", "starts_at": "2099-07-01T15:00:00Z",
             "duration_minutes": 90, "modality": "online", "link": "https://meet.example.com/postman", "price": "30.00", "capacity": 3,
             "cancellation_hours": 0}),
        request("Enroll me", "POST", "/api/v1/store/me/enrollments", status(201) + save("storeEnrollmentId") + [
            "pm.test('my seat, owed, with the online link', () => { const b = pm.response.json(); pm.expect(b.balance).to.eql('30.00'); pm.expect(b.cancellable).to.be.true; pm.expect(b.workshop.link).to.eql('https://meet.example.com/postman'); pm.expect(pm.response.headers.get('Location')).to.eql('/api/v1/store/me/enrollments/' + b.id); });"],
            {"workshop_id": "{{storeWorkshopId}}"}, auth="storeAccess"),
        request("Enroll me twice", "POST", "/api/v1/store/me/enrollments", status(409) + PROBLEM + code("already_enrolled"),
            {"workshop_id": "{{storeWorkshopId}}"}, auth="storeAccess"),
        request("List my enrollments", "GET", "/api/v1/store/me/enrollments?status=pending_payment", status(200) + [
            "pm.test('mine only', () => pm.expect(pm.response.json().items.map(e => e.id)).to.eql([pm.collectionVariables.get('storeEnrollmentId')]));"], auth="storeAccess"),
        request("Get my enrollment", "GET", "/api/v1/store/me/enrollments/{{storeEnrollmentId}}", status(200) + [
            "pm.test('with its workshop', () => pm.expect(pm.response.json().workshop.id).to.eql(pm.collectionVariables.get('storeWorkshopId')));"], auth="storeAccess"),
        request("Get another client's enrollment", "GET", "/api/v1/store/me/enrollments/{{enrollmentId}}", status(404) + PROBLEM + code("enrollment_not_found"), auth="storeAccess"),
        request("Pay my seat without an idempotency key", "POST", "/api/v1/store/me/payments", status(400) + PROBLEM + code("idempotency_key_required"),
            {"subject": {"type": "enrollment", "id": "{{storeEnrollmentId}}"}, "amount": "30.00", "method": "card", "token": "tok_visa"}, auth="storeAccess"),
        request("Pay another client's enrollment", "POST", "/api/v1/store/me/payments", status(404) + PROBLEM + code("enrollment_not_found"),
            {"subject": {"type": "enrollment", "id": "{{enrollmentId}}"}, "amount": "1.00", "method": "card", "token": "tok_visa"},
            headers={"Idempotency-Key": f"store-other-{R}"}, auth="storeAccess"),
        request("Pay my seat in cash", "POST", "/api/v1/store/me/payments", status(422) + PROBLEM + [
            "pm.test('names method', () => pm.expect(pm.response.json().errors.map(e => e.field)).to.eql(['method']));"],
            {"subject": {"type": "enrollment", "id": "{{storeEnrollmentId}}"}, "amount": "30.00", "method": "cash", "token": "tok_visa"},
            headers={"Idempotency-Key": f"store-cash-{R}"}, auth="storeAccess"),
        request("Pay my seat", "POST", "/api/v1/store/me/payments", status(201) + save("storePaymentId") + [
            "pm.test('succeeded', () => pm.expect(pm.response.json().status).to.eql('succeeded'));"],
            {"subject": {"type": "enrollment", "id": "{{storeEnrollmentId}}"}, "amount": "30.00", "method": "card", "token": "tok_visa"},
            headers={"Idempotency-Key": f"store-pay-{R}"}, auth="storeAccess"),
        request("Pay my seat again with the same key", "POST", "/api/v1/store/me/payments", status(201) + [
            "pm.test('the same payment, replayed', () => { pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('storePaymentId')); pm.expect(pm.response.headers.get('Idempotent-Replayed')).to.eql('true'); });"],
            {"subject": {"type": "enrollment", "id": "{{storeEnrollmentId}}"}, "amount": "30.00", "method": "card", "token": "tok_visa"},
            headers={"Idempotency-Key": f"store-pay-{R}"}, auth="storeAccess"),
        request("List my payments", "GET", "/api/v1/store/me/payments?status=succeeded", status(200) + [
            "pm.test('the one charge', () => pm.expect(pm.response.json().items.map(p => p.id)).to.eql([pm.collectionVariables.get('storePaymentId')]));"], auth="storeAccess"),
        request("Get my payment", "GET", "/api/v1/store/me/payments/{{storePaymentId}}", status(200) + [
            "pm.test('for my enrollment', () => pm.expect(pm.response.json().subject.id).to.eql(pm.collectionVariables.get('storeEnrollmentId')));"], auth="storeAccess"),
        request("Cancel my paid seat", "POST", "/api/v1/store/me/enrollments/{{storeEnrollmentId}}/cancel", status(409) + PROBLEM + code("enrollment_paid"), auth="storeAccess"),
        request("My subscription before buying one", "GET", "/api/v1/store/me/subscription", status(404) + PROBLEM + code("subscription_not_found"), auth="storeAccess"),
        request("Subscribe me", "POST", "/api/v1/store/me/subscription", status(201) + save("storeSubscriptionId") + save("storeSubscriptionDue", "pm.response.json().amount_due") + [
            "pm.test('premium, owed', () => { const b = pm.response.json(); pm.expect(b.plan).to.eql('premium'); pm.expect(b.amount_due).to.not.eql('0.00'); });"],
            {"plan": "premium", "months": 1}, auth="storeAccess"),
        request("Pay my subscription", "POST", "/api/v1/store/me/payments", status(201) + [
            "pm.test('succeeded', () => pm.expect(pm.response.json().status).to.eql('succeeded'));"],
            {"subject": {"type": "subscription", "id": "{{storeSubscriptionId}}"}, "amount": "{{storeSubscriptionDue}}", "method": "paypal", "token": "tok_visa"},
            headers={"Idempotency-Key": f"store-sub-{R}"}, auth="storeAccess"),
        request("My subscription", "GET", "/api/v1/store/me/subscription", status(200) + [
            "pm.test('active and paid', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('active'); pm.expect(b.amount_due).to.eql('0.00'); });"], auth="storeAccess"),
        request("Staff enroll the shopper where they already are", "POST", "/api/v1/workshops/{{storeWorkshopId}}/enrollments", status(409) + PROBLEM + code("already_enrolled"),
            {"client_id": "{{storeClientId}}"}),
    ]),
    ("Storefront cart", [
        request("Store sign-in for the cart", "POST", "/api/v1/store/auth/sign-in", status(200) + save("storeAccess", "pm.response.json().access_token"),
            {"email": f"shop.{R}@example.com", "password": "shopper passphrase three"}, auth="none"),
        request("Staff add a product for the cart", "POST", "/api/v1/products", status(201) + save("cartProductId"),
            {"name": f"Postman Cart Saw {R}", "price": "12.00", "stock": 4}),
        request("My empty cart", "GET", "/api/v1/store/me/cart", status(200) + save("cartEtag", "pm.response.headers.get('ETag')") + [
            "pm.test('nothing in it yet', () => { const b = pm.response.json(); pm.expect(b.lines).to.eql([]); pm.expect(b.ready).to.be.false; });"], auth="storeAccess"),
        request("Add to my cart", "POST", "/api/v1/store/me/cart/lines", status(200) + save("cartEtag", "pm.response.headers.get('ETag')") + [
            "pm.test('priced now', () => { const b = pm.response.json(); pm.expect(b.lines[0].quantity).to.eql(2); pm.expect(b.subtotal).to.eql('24.00'); pm.expect(b.lines[0].product).to.not.have.property('stock'); });"],
            {"product_id": "{{cartProductId}}", "quantity": 2}, headers={"If-Match": "{{cartEtag}}"}, auth="storeAccess"),
        request("Add an unknown product", "POST", "/api/v1/store/me/cart/lines", status(404) + PROBLEM + code("product_not_found"),
            {"product_id": "00000000-0000-7000-8000-000000000000", "quantity": 1}, auth="storeAccess"),
        request("Set a line of my cart", "PUT", "/api/v1/store/me/cart/lines/{{cartProductId}}", status(200) + save("cartEtag", "pm.response.headers.get('ETag')") + [
            "pm.test('three units', () => pm.expect(pm.response.json().lines[0].quantity).to.eql(3));"],
            {"quantity": 3}, headers={"If-Match": "{{cartEtag}}"}, auth="storeAccess"),
        request("Set a line with a stale ETag", "PUT", "/api/v1/store/me/cart/lines/{{cartProductId}}", status(412) + PROBLEM + code("version_mismatch"),
            {"quantity": 1}, headers={"If-Match": "\"1\""}, auth="storeAccess"),
        request("Put a coupon on my cart", "PATCH", "/api/v1/store/me/cart", status(200) + save("cartEtag", "pm.response.headers.get('ETag')") + [
            "pm.test('the coupon applies', () => { const b = pm.response.json(); pm.expect(b.coupon_code).to.eql('PM' + pm.collectionVariables.get('runId')); pm.expect(b.coupon_issue).to.eql(null); pm.expect(b.discount).to.not.eql('0.00'); });"],
            {"coupon_code": f"PM{R}"}, headers={"If-Match": "{{cartEtag}}"}, auth="storeAccess"),
        request("Take the coupon off my cart", "PATCH", "/api/v1/store/me/cart", status(200) + save("cartEtag", "pm.response.headers.get('ETag')") + [
            "pm.test('no coupon', () => { const b = pm.response.json(); pm.expect(b.coupon_code).to.eql(null); pm.expect(b.discount).to.eql('0.00'); });"],
            {"coupon_code": None}, headers={"If-Match": "{{cartEtag}}"}, auth="storeAccess"),
        request("Remove a line that is not in my cart", "DELETE", "/api/v1/store/me/cart/lines/{{productId}}", status(404) + PROBLEM + code("cart_line_not_found"), auth="storeAccess"),
        request("Check out without an idempotency key", "POST", "/api/v1/store/me/cart/checkout", status(400) + PROBLEM + code("idempotency_key_required"),
            {"shipping_address": "5 Shop Street", "payment_method": "card"}, auth="storeAccess"),
        request("Check out my cart", "POST", "/api/v1/store/me/cart/checkout", status(201) + save("cartOrderId") + [
            "pm.test('one pending order of my lines', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('pending'); pm.expect(b.total).to.eql('36.00'); pm.expect(pm.response.headers.get('Location')).to.eql('/api/v1/store/me/orders/' + b.id); });"],
            {"shipping_address": "5 Shop Street", "payment_method": "card"}, headers={"Idempotency-Key": f"cart-{R}"}, auth="storeAccess"),
        request("Check out again with the same key", "POST", "/api/v1/store/me/cart/checkout", status(201) + [
            "pm.test('the same order, replayed', () => { pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('cartOrderId')); pm.expect(pm.response.headers.get('Idempotent-Replayed')).to.eql('true'); });"],
            {"shipping_address": "5 Shop Street", "payment_method": "card"}, headers={"Idempotency-Key": f"cart-{R}"}, auth="storeAccess"),
        request("Check out an empty cart", "POST", "/api/v1/store/me/cart/checkout", status(409) + PROBLEM + code("cart_empty"),
            {"shipping_address": "5 Shop Street", "payment_method": "card"}, headers={"Idempotency-Key": f"cart-empty-{R}"}, auth="storeAccess"),
        request("The stock was taken", "GET", "/api/v1/products/{{cartProductId}}", status(200) + [
            "pm.test('one unit left', () => pm.expect(pm.response.json().stock).to.eql(1));"]),
        request("Add the last unit again", "POST", "/api/v1/store/me/cart/lines", status(200) + save("cartEtag", "pm.response.headers.get('ETag')"),
            {"product_id": "{{cartProductId}}", "quantity": 1}, auth="storeAccess"),
        request("Remove it from my cart", "DELETE", "/api/v1/store/me/cart/lines/{{cartProductId}}", status(200) + [
            "pm.test('empty again', () => pm.expect(pm.response.json().lines).to.eql([]));"],
            headers={"If-Match": "{{cartEtag}}"}, auth="storeAccess"),
        request("Pay my cart's order", "POST", "/api/v1/store/me/payments", status(201) + [
            "pm.test('succeeded', () => pm.expect(pm.response.json().status).to.eql('succeeded'));"],
            {"subject": {"type": "order", "id": "{{cartOrderId}}"}, "amount": "36.00", "method": "card", "token": "tok_visa"},
            headers={"Idempotency-Key": f"cart-pay-{R}"}, auth="storeAccess"),
    ]),
    ("Storefront catalog", [
        request("Create a publishable key", "POST", "/api/v1/api-keys", status(201) + save("publishableKey", "pm.response.json().key") + save("publishableKeyId") + [
            "pm.test('a publishable key without scopes', () => { const b = pm.response.json(); pm.expect(b.kind).to.eql('publishable'); pm.expect(b.key).to.match(/^hcrm_pk_/); pm.expect(b.scopes).to.eql([]); pm.expect(b.allowed_origins).to.eql(['https://shop.example.com']); });"],
            {"name": f"Postman storefront {R}", "kind": "publishable", "allowed_origins": ["https://shop.example.com"]}),
        request("Create a publishable key without origins", "POST", "/api/v1/api-keys", status(422) + PROBLEM + [
            "pm.test('names allowed_origins', () => pm.expect(pm.response.json().errors.map(e => e.field)).to.eql(['allowed_origins']));"],
            {"name": "No origins", "kind": "publishable"}),
        request("Store products", "GET", "/api/v1/store/products?category_id={{categoryId}}&sort=name", status(200) + [
            "pm.test('the category\u2019s active products, in stock or not, never the stock', () => { const items = pm.response.json().items; pm.expect(items.map(p => p.id)).to.include(pm.collectionVariables.get('productId')); items.forEach(p => { pm.expect(p.in_stock).to.be.a('boolean'); pm.expect(p).to.not.have.property('stock'); }); });"],
            headers={"X-Publishable-Key": "{{publishableKey}}"}, auth="none"),
        request("Store product", "GET", "/api/v1/store/products/{{productId}}", status(200) + [
            "pm.test('price and in stock', () => { const b = pm.response.json(); pm.expect(b.price).to.match(/^[0-9]+\\.[0-9]{2}$/); pm.expect(b.in_stock).to.be.true; });"],
            headers={"X-Publishable-Key": "{{publishableKey}}"}, auth="none"),
        request("Store categories", "GET", "/api/v1/store/categories", status(200) + [
            "pm.test('lists the category', () => pm.expect(pm.response.json().items.map(c => c.id)).to.include(pm.collectionVariables.get('categoryId')));"],
            headers={"X-Publishable-Key": "{{publishableKey}}"}, auth="none"),
        request("Store workshops", "GET", "/api/v1/store/workshops?has_seats=true", status(200) + [
            "pm.test('upcoming with seats left, no link', () => pm.response.json().items.forEach(w => { pm.expect(w.seats_left).to.be.above(0); pm.expect(w).to.not.have.property('link'); pm.expect(new Date(w.starts_at) > new Date()).to.be.true; }));"],
            headers={"X-Publishable-Key": "{{publishableKey}}"}, auth="none"),
        request("A deactivated workshop is not in the store", "GET", "/api/v1/store/workshops/{{workshopId}}", status(404) + PROBLEM + code("workshop_not_found"),
            headers={"X-Publishable-Key": "{{publishableKey}}"}, auth="none"),
        request("Store products without a publishable key", "GET", "/api/v1/store/products", status(401) + PROBLEM + code("unauthenticated"), auth="none"),
        request("A staff route with the publishable key", "GET", "/api/v1/products", status(401) + PROBLEM + code("unauthenticated"),
            headers={"X-Publishable-Key": "{{publishableKey}}"}, auth="none"),
        request("The publishable key as a bearer token", "GET", "/api/v1/products", status(403) + PROBLEM + code("forbidden"), auth="publishableKey"),
        request("Revoke the publishable key", "DELETE", "/api/v1/api-keys/{{publishableKeyId}}", status(204)),
        request("Store products with a revoked key", "GET", "/api/v1/store/products", status(401) + PROBLEM + code("unauthenticated"),
            headers={"X-Publishable-Key": "{{publishableKey}}"}, auth="none"),
    ]),
    ("Storefront profile", [
        request("Store sign-in for the profile", "POST", "/api/v1/store/auth/sign-in", status(200) + save("storeAccess", "pm.response.json().access_token"),
            {"email": f"shop.{R}@example.com", "password": "shopper passphrase three"}, auth="none"),
        request("My preferences", "GET", "/api/v1/store/me/preferences", status(200) + save("storePrefsEtag", "pm.response.headers.get('ETag')") + [
            "pm.test('only the keys a customer may set', () => Object.keys(pm.response.json()).forEach(k => pm.expect(['language', 'notifications']).to.include(k)));"], auth="storeAccess"),
        request("Change my preferences", "PATCH", "/api/v1/store/me/preferences", status(200) + [
            "pm.test('language and opt-out', () => { const b = pm.response.json(); pm.expect(b.language).to.eql('es'); pm.expect(b.notifications).to.eql({email: false}); });"],
            {"language": "es", "notifications": {"email": False}}, headers={"If-Match": "{{storePrefsEtag}}"}, content_type="application/merge-patch+json", auth="storeAccess"),
        request("Change a preference that is the business's", "PATCH", "/api/v1/store/me/preferences", status(422) + PROBLEM + [
            "pm.test('names the key', () => pm.expect(pm.response.json().errors.map(e => e.field)).to.eql(['preferences.vip_tier']));"],
            {"vip_tier": "gold"}, content_type="application/merge-patch+json", auth="storeAccess"),
        request("Change my email with a wrong password", "POST", "/api/v1/store/me/email", status(422) + PROBLEM + [
            "pm.test('names password', () => pm.expect(pm.response.json().errors.map(e => e.field)).to.eql(['password']));"],
            {"new_email": f"moved.{R}@example.com", "password": "not the passphrase"}, auth="storeAccess"),
        request("Change my email", "POST", "/api/v1/store/me/email", status(202),
            {"new_email": f"moved.{R}@example.com", "password": "shopper passphrase three"}, auth="storeAccess"),
        request("Not changed before the link is followed", "GET", "/api/v1/store/me", status(200) + [
            "pm.test('the old email', () => pm.expect(pm.response.json().email).to.eql('shop.' + pm.collectionVariables.get('runId') + '@example.com'));"], auth="storeAccess"),
        request("Read the new address's mail", "GET", f"{{{{mailUrl}}}}/messages?to=moved.{R}@example.com", status(200) + [
            "const mails = pm.response.json().filter(m => m.subject === 'Confirm your new email');",
            "pm.test('a link with a token', () => pm.expect(mails[mails.length - 1].token).to.match(/^hcrm_et_/));",
            "pm.collectionVariables.set('changeToken', mails[mails.length - 1].token);"], auth="none"),
        request("Confirm the new email", "POST", "/api/v1/store/auth/confirm-email", status(204), {"token": "{{changeToken}}"}, auth="none"),
        request("Confirm with a used link", "POST", "/api/v1/store/auth/confirm-email", status(401) + PROBLEM + code("invalid_token"),
            {"token": "{{changeToken}}"}, auth="none"),
        request("My profile has the new email", "GET", "/api/v1/store/me", status(200) + [
            "pm.test('the new email', () => pm.expect(pm.response.json().email).to.eql('moved.' + pm.collectionVariables.get('runId') + '@example.com'));"], auth="storeAccess"),
        request("Store sign-in with the new email", "POST", "/api/v1/store/auth/sign-in", status(200),
            {"email": f"moved.{R}@example.com", "password": "shopper passphrase three"}, auth="none"),
    ]),
    ("Payments", [
        request("Create paying client", "POST", "/api/v1/clients", status(201) + save("payClientId"),
            {"name": "Postman Payer", "email": f"payer.{R}@example.com", "kind": "b2c"}),
        request("Place an order to pay", "POST", "/api/v1/orders", status(201) + save("payOrderId") + [
            "pm.test('owes the total', () => pm.expect(pm.response.json().balance).to.eql('24.90'));"],
            {"client_id": "{{payClientId}}", "items": [{"product_id": "{{productId}}", "quantity": 1}],
             "shipping_address": "1 Test Street", "payment_method": "card"}),
        request("Pay without an idempotency key", "POST", "/api/v1/payments", status(400) + PROBLEM + code("idempotency_key_required"),
            {"subject": {"type": "order", "id": "{{payOrderId}}"}, "amount": "10.00", "method": "cash"}),
        request("Pay part in cash", "POST", "/api/v1/payments", status(201) + [
            "pm.test('succeeded at once', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('succeeded'); pm.expect(b.steps.map(s => s.status)).to.eql(['succeeded', 'skipped', 'succeeded']); });"],
            {"subject": {"type": "order", "id": "{{payOrderId}}"}, "amount": "10.00", "method": "cash"},
            headers={"Idempotency-Key": f"pm-cash-{R}"}),
        request("Pay the rest by card", "POST", "/api/v1/payments", status(201) + save("paymentId") + [
            "pm.test('charged by the gateway', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('succeeded'); pm.expect(b.gateway_reference).to.match(/^ch_sandbox_/); });",
            "pm.test('Location header', () => pm.expect(pm.response.headers.get('Location')).to.eql('/api/v1/payments/' + pm.response.json().id));"],
            {"subject": {"type": "order", "id": "{{payOrderId}}"}, "amount": "14.90", "method": "card", "token": "tok_visa"},
            headers={"Idempotency-Key": f"pm-card-{R}"}),
        request("Retry the card payment with the same key", "POST", "/api/v1/payments", status(201) + [
            "pm.test('replayed', () => pm.expect(pm.response.headers.get('Idempotent-Replayed')).to.eql('true'));",
            "pm.test('the same payment', () => pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('paymentId')));"],
            {"subject": {"type": "order", "id": "{{payOrderId}}"}, "amount": "14.90", "method": "card", "token": "tok_visa"},
            headers={"Idempotency-Key": f"pm-card-{R}"}),
        request("Reuse the key for another request", "POST", "/api/v1/payments", status(422) + PROBLEM + code("idempotency_key_reused"),
            {"subject": {"type": "order", "id": "{{payOrderId}}"}, "amount": "1.00", "method": "card", "token": "tok_visa"},
            headers={"Idempotency-Key": f"pm-card-{R}"}),
        request("Paid order is confirmed", "GET", "/api/v1/orders/{{payOrderId}}", status(200) + [
            "pm.test('confirmed by the payment', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('confirmed'); pm.expect(b.balance).to.eql('0.00'); pm.expect(b.status_history[b.status_history.length - 1].note).to.eql('paid'); });"]),
        request("Overpay the order", "POST", "/api/v1/payments", status(409) + PROBLEM + code("overpayment") + [
            "pm.test('says the balance', () => pm.expect(pm.response.json().details.balance).to.eql('0.00'));"],
            {"subject": {"type": "order", "id": "{{payOrderId}}"}, "amount": "1.00", "method": "cash"},
            headers={"Idempotency-Key": f"pm-over-{R}"}),
        request("Place a second order", "POST", "/api/v1/orders", status(201) + save("declinedOrderId"),
            {"client_id": "{{payClientId}}", "items": [{"product_id": "{{productId}}", "quantity": 1}],
             "shipping_address": "1 Test Street", "payment_method": "card"}),
        request("Pay with a declined card", "POST", "/api/v1/payments", status(201) + [
            "pm.test('failed with the reason', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('failed'); pm.expect(b.failure_code).to.eql('card_declined'); });"],
            {"subject": {"type": "order", "id": "{{declinedOrderId}}"}, "amount": "24.90", "method": "card", "token": "tok_declined"},
            headers={"Idempotency-Key": f"pm-declined-{R}"}),
        request("Pay with an unknown token", "POST", "/api/v1/payments", status(422) + PROBLEM + [
            "pm.test('names the token', () => pm.expect(pm.response.json().errors.map(e => e.code)).to.eql(['unknown_token']));"],
            {"subject": {"type": "order", "id": "{{declinedOrderId}}"}, "amount": "24.90", "method": "card", "token": "tok_unknown"},
            headers={"Idempotency-Key": f"pm-unknown-{R}"}),
        request("Pay asynchronously", "POST", "/api/v1/payments", status(202) + save("asyncPaymentId") + [
            "pm.test('processing, with where to poll', () => { pm.expect(pm.response.json().status).to.eql('processing'); pm.expect(pm.response.headers.get('Location')).to.eql('/api/v1/payments/' + pm.response.json().id); });"],
            {"subject": {"type": "order", "id": "{{declinedOrderId}}"}, "amount": "24.90", "method": "card", "token": "tok_visa"},
            headers={"Idempotency-Key": f"pm-async-{R}", "Prefer": "respond-async"}),
        request("Poll the payment", "GET", "/api/v1/payments/{{asyncPaymentId}}", status(200) + [
            "pm.test('processing or done', () => pm.expect(['processing', 'succeeded']).to.include(pm.response.json().status));",
            "pm.test('shows the saga', () => pm.expect(pm.response.json().steps.map(s => s.step)).to.eql(['reserve', 'charge', 'apply']));"]),
        request("List the client's payments", "GET", "/api/v1/payments?client_id={{payClientId}}&limit=10", status(200) + [
            "pm.test('all four', () => pm.expect(pm.response.json().items.length).to.eql(4));"]),
        request("Refund part of the card payment", "POST", "/api/v1/payments/{{paymentId}}/refunds", status(201) + save("refundId") + [
            "pm.test('refunded through the gateway', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('succeeded'); pm.expect(b.amount).to.eql('4.90'); pm.expect(b.gateway_reference).to.match(/^re_sandbox_/); });"],
            {"amount": "4.90", "reason": "Scratched on arrival"},
            headers={"Idempotency-Key": f"pm-refund-{R}"}),
        request("Refund more than is left", "POST", "/api/v1/payments/{{paymentId}}/refunds", status(409) + PROBLEM + code("refund_exceeds_payment") + [
            "pm.test('says what is refundable', () => pm.expect(pm.response.json().details.refundable).to.eql('10.00'));"],
            {"amount": "10.01", "reason": "Too much"},
            headers={"Idempotency-Key": f"pm-refund-over-{R}"}),
        request("List refunds", "GET", "/api/v1/payments/{{paymentId}}/refunds", status(200) + [
            "pm.test('a page of one refund', () => { const b = pm.response.json(); pm.expect(b.items.length).to.eql(1); pm.expect(b.next_cursor).to.eql(null); });"]),
        request("Get refund", "GET", "/api/v1/payments/{{paymentId}}/refunds/{{refundId}}", status(200) + [
            "pm.test('the reason', () => pm.expect(pm.response.json().reason).to.eql('Scratched on arrival'));"]),
        request("The order shows the refund", "GET", "/api/v1/orders/{{payOrderId}}", status(200) + [
            "pm.test('paid less the refund', () => { const b = pm.response.json(); pm.expect(b.amount_paid).to.eql('20.00'); pm.expect(b.status).to.eql('confirmed'); });"]),
        request("List plans", "GET", "/api/v1/plans", status(200) + [
            "pm.test('three plans', () => pm.expect(pm.response.json().items.map(p => p.code)).to.eql(['basic', 'premium', 'enterprise']));"]),
        request("Subscribe the client", "POST", "/api/v1/clients/{{payClientId}}/subscription", status(201) + save("subscriptionId") + save("amountDue", "pm.response.json().amount_due") + [
            "pm.test('pending payment', () => pm.expect(pm.response.json().status).to.eql('pending_payment'));"],
            {"plan": "premium", "months": 12}),
        request("Get the client's subscription", "GET", "/api/v1/clients/{{payClientId}}/subscription", status(200) + [
            "pm.test('the new one', () => pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('subscriptionId')));"]),
        request("Pay the subscription", "POST", "/api/v1/payments", status(201) + [
            "pm.test('succeeded', () => pm.expect(pm.response.json().status).to.eql('succeeded'));"],
            {"subject": {"type": "subscription", "id": "{{subscriptionId}}"}, "amount": "{{amountDue}}", "method": "card", "token": "tok_visa"},
            headers={"Idempotency-Key": f"pm-subscription-{R}"}),
        request("Get subscription", "GET", "/api/v1/subscriptions/{{subscriptionId}}", status(200) + [
            "pm.test('active and paid', () => { const b = pm.response.json(); pm.expect(b.status).to.eql('active'); pm.expect(b.amount_due).to.eql('0.00'); });"]),
        request("The client is on the plan", "GET", "/api/v1/clients/{{payClientId}}", status(200) + [
            "pm.test('premium, active, paid until', () => { const b = pm.response.json(); pm.expect(b.plan).to.eql('premium'); pm.expect(b.plan_status).to.eql('active'); pm.expect(b.paid_until).to.be.a('string'); });"]),
    ]),
    ("Events and webhooks", [
        request("Read the event feed", "GET", "/api/v1/events?after=0&limit=50", status(200) + [
            "pm.test('a page of events in sequence order', () => { const b = pm.response.json(); pm.expect(b.items.length).to.be.above(0); const seq = b.items.map(e => e.sequence); pm.expect(seq).to.eql([...seq].sort((x, y) => x - y)); pm.expect(b.next_after).to.eql(seq[seq.length - 1]); pm.expect(b).to.have.property('has_more'); });",
            "pm.collectionVariables.set('eventId', pm.response.json().items[0].id);"]),
        request("Read a client's events", "GET", "/api/v1/events?subject_id={{payClientId}}&type=client.*", status(200) + [
            "pm.test('its creation, with the client as data', () => { const e = pm.response.json().items[0]; pm.expect(e.type).to.eql('client.created'); pm.expect(e.subject).to.eql({type: 'client', id: pm.collectionVariables.get('payClientId')}); pm.expect(e.data.email).to.include('payer.'); });"]),
        request("Read payment events", "GET", "/api/v1/events?type=payment.failed,refund.*&limit=100", status(200) + [
            "pm.test('the failed payment and the refund of this run', () => { const types = pm.response.json().items.map(e => e.type); pm.expect(types).to.include.members(['payment.failed', 'refund.created']); });",
            "pm.test('only the types asked for (the demo data has thousands of succeeded payments)', () => pm.response.json().items.forEach(e => pm.expect(e.type === 'payment.failed' || e.type.startsWith('refund.')).to.be.true));"]),
        request("Filter by an unknown event type", "GET", "/api/v1/events?type=orders.*", status(422) + PROBLEM + code("validation_failed") + [
            "pm.test('names the field', () => pm.expect(pm.response.json().errors[0].field).to.eql('type'));"]),
        request("Get an event", "GET", "/api/v1/events/{{eventId}}", status(200) + [
            "pm.test('the same event', () => pm.expect(pm.response.json().id).to.eql(pm.collectionVariables.get('eventId')));"]),
        request("Get an unknown event", "GET", "/api/v1/events/00000000-0000-7000-8000-000000000000", status(404) + PROBLEM + code("event_not_found")),
        request("Register a webhook endpoint", "POST", "/api/v1/webhook-endpoints", status(201) + save("webhookId") + [
            "pm.test('the secret, shown once', () => pm.expect(pm.response.json().secret).to.match(/^whsec_[A-Za-z0-9+\\/]{43}=$/));",
            "pm.test('Location header', () => pm.expect(pm.response.headers.get('Location')).to.eql('/api/v1/webhook-endpoints/' + pm.response.json().id));"],
            {"url": "https://hooks.example.com/crm", "description": "Postman", "event_types": ["order.*", "payment.succeeded"]}),
        request("Register a metadata address", "POST", "/api/v1/webhook-endpoints", status(422) + PROBLEM + [
            "pm.test('refuses the URL', () => pm.expect(pm.response.json().errors.map(e => e.code)).to.eql(['url_refused']));"],
            {"url": "http://169.254.169.254/latest/meta-data", "event_types": ["*"]}),
        request("List webhook endpoints", "GET", "/api/v1/webhook-endpoints?limit=5", status(200) + [
            "pm.test('no secrets listed', () => pm.response.json().items.forEach(e => pm.expect(e).to.not.have.property('secret')));"]),
        request("Get a webhook endpoint", "GET", "/api/v1/webhook-endpoints/{{webhookId}}", status(200) + [
            "pm.test('active, without its secret', () => { const b = pm.response.json(); pm.expect(b.active).to.eql(true); pm.expect(b).to.not.have.property('secret'); });"]),
        request("Update a webhook endpoint", "PATCH", "/api/v1/webhook-endpoints/{{webhookId}}", status(200) + [
            "pm.test('new types, description cleared', () => { const b = pm.response.json(); pm.expect(b.event_types).to.eql(['order.placed', 'client.*']); pm.expect(b.description).to.eql(null); });"],
            {"event_types": ["order.placed", "client.*"], "description": None}),
        request("Rotate the signing secret", "POST", "/api/v1/webhook-endpoints/{{webhookId}}/rotate-secret", status(200) + [
            "pm.test('a new whsec_ secret, shown once', () => { const b = pm.response.json(); pm.expect(b.secret).to.match(/^whsec_/); pm.expect(b.secret_withheld).to.eql(false); });",
            "pm.test('the old secret signs beside it for the overlap', () => pm.expect(Date.parse(pm.response.json().previous_secret_until)).to.be.above(Date.now()));"],
            {"overlap_secs": 3600}),
        request("Send a test ping", "POST", "/api/v1/webhook-endpoints/{{webhookId}}/test", status(202) + save("deliveryId") + [
            "pm.test('a ping delivery', () => pm.expect(pm.response.json().event_type).to.eql('ping'));"]),
        request("List the endpoint's deliveries", "GET", "/api/v1/webhook-endpoints/{{webhookId}}/deliveries", status(200) + [
            "pm.test('the ping is there', () => pm.expect(pm.response.json().items.map(d => d.id)).to.include(pm.collectionVariables.get('deliveryId')));"]),
        request("Get a delivery", "GET", "/api/v1/webhook-endpoints/{{webhookId}}/deliveries/{{deliveryId}}", status(200) + [
            "pm.test('with its attempts', () => pm.expect(pm.response.json().attempts).to.be.an('array'));"]),
        request("Retry a delivery that has not finished", "POST", "/api/v1/webhook-endpoints/{{webhookId}}/deliveries/{{deliveryId}}/retry", status(409) + PROBLEM + code("delivery_in_progress")),
        request("Delete a webhook endpoint", "DELETE", "/api/v1/webhook-endpoints/{{webhookId}}", status(204)),
        request("Deleted endpoint is gone", "GET", "/api/v1/webhook-endpoints/{{webhookId}}", status(404) + PROBLEM + code("webhook_endpoint_not_found")),
    ]),
    ("Notifications", [
        request("Remind a workshop's debtors", "POST", "/api/v1/workshops/{{workshopId}}/payment-reminders", status(202) + [
            "pm.test('counts debtors and reminders', () => { const b = pm.response.json(); pm.expect(b.debtors).to.be.a('number'); pm.expect(b.queued + b.already_reminded_today).to.eql(b.debtors); });"]),
        request("Remind them again the same day", "POST", "/api/v1/workshops/{{workshopId}}/payment-reminders", status(202) + [
            "pm.test('nothing new today', () => { const b = pm.response.json(); pm.expect(b.queued).to.eql(0); pm.expect(b.already_reminded_today).to.eql(b.debtors); });"]),
        request("List a client's notifications", "GET", "/api/v1/notifications?client_id={{payClientId}}&limit=50", status(200) + [
            "pm.test('a welcome and order messages', () => { const t = pm.response.json().items.map(n => n.template); pm.expect(t).to.include.members(['welcome', 'order_confirmation']); });",
            "pm.test('each with an outcome', () => pm.response.json().items.forEach(n => pm.expect(['pending', 'sending', 'sent', 'failed', 'skipped']).to.include(n.status)));",
            "pm.collectionVariables.set('notificationId', pm.response.json().items[0].id);"]),
        request("Get a notification", "GET", "/api/v1/notifications/{{notificationId}}", status(200) + [
            "pm.test('to the client', () => pm.expect(pm.response.json().recipient).to.include('payer.'));"]),
        request("List skipped notifications", "GET", "/api/v1/notifications?status=skipped", status(200) + [
            "pm.test('only skipped ones', () => pm.response.json().items.forEach(n => pm.expect(n.status).to.eql('skipped')));"]),
        request("Get the client's timeline", "GET", "/api/v1/clients/{{payClientId}}/timeline?limit=50", status(200) + [
            "pm.test('events and notifications, newest first', () => { const b = pm.response.json(); const kinds = b.items.map(i => i.kind); pm.expect(kinds).to.include.members(['event', 'notification']); const at = b.items.map(i => i.at); pm.expect(at).to.eql([...at].sort().reverse()); pm.expect(b.degraded).to.eql(null); });"]),
        request("Get an unknown notification", "GET", "/api/v1/notifications/00000000-0000-7000-8000-000000000000", status(404) + PROBLEM + code("notification_not_found")),
    ]),
    ("Stats and errors", [
        request("Audit log of a company", "GET", "/api/v1/audit-log?subject_id={{companyId}}", status(200) + [
            "pm.test('its creation and update, newest first', () => { const ops = pm.response.json().items.map(e => e.operation_id); pm.expect(ops).to.include.members(['create_company', 'update_company']); });",
            "pm.test('each with key, status and request id', () => pm.response.json().items.forEach(e => { pm.expect(e.key_id).to.be.a('string'); pm.expect(e.status).to.be.a('number'); pm.expect(e.request_id).to.be.a('string'); }));"]),
        request("Client stats", "GET", "/api/v1/stats/clients", status(200) + [
            "pm.test('combined', () => { const b = pm.response.json(); pm.expect(b.total_clients).to.be.above(0); pm.expect(b.documents.info_coverage_percent).to.be.within(0, 100); pm.expect(b.age_seconds).to.be.at.least(0); pm.expect(b).to.have.property('computed_at'); pm.expect(b).to.have.property('consistency'); });"]),
        request("Key figures, last 30 days", "GET", "/api/v1/reports/kpis", status(200) + [
            "pm.test('the orders of this run count', () => { const b = pm.response.json(); pm.expect(b.orders).to.be.above(0); pm.expect(b.active_clients).to.be.above(0); pm.expect(b.paying_clients_to_date).to.be.at.least(b.active_clients); });",
            "pm.test('revenue is gross less refunds, exactly', () => { const b = pm.response.json(); pm.expect(Math.round(parseFloat(b.gross) * 100) - Math.round(parseFloat(b.refunds) * 100)).to.eql(Math.round(parseFloat(b.revenue) * 100)); });",
            "pm.test('breakdowns, stock and debtors', () => { const b = pm.response.json(); pm.expect(b.revenue_by_plan).to.be.an('array').that.is.not.empty; pm.expect(b.revenue_by_client_kind).to.be.an('array').that.is.not.empty; ['critical', 'low', 'optimal'].forEach(k => pm.expect(b.stock_status[k]).to.be.a('number')); pm.expect(b.debtors.amount_owed).to.match(/^[0-9]+\\.[0-9]{2}$/); });"]),
        request("Key figures as CSV", "GET", "/api/v1/reports/kpis", status(200) + [
            "pm.test('name,value rows', () => { const lines = pm.response.text().split('\\r\\n'); pm.expect(lines[0]).to.eql('name,value'); pm.expect(lines.some(l => l.startsWith('revenue,'))).to.be.true; });"],
            headers={"Accept": "text/csv"}),
        request("Products report", "GET", "/api/v1/reports/products?limit=5", status(200) + [
            "pm.test('rankings of at most five, ordered', () => { const b = pm.response.json(); pm.expect(b.top_by_units.length).to.be.within(1, 5); for (let i = 1; i < b.top_by_units.length; i++) { pm.expect(b.top_by_units[i - 1].units).to.be.at.least(b.top_by_units[i].units); } });",
            "pm.test('categories and slow movers', () => { const b = pm.response.json(); pm.expect(b.categories_by_revenue).to.be.an('array').that.is.not.empty; b.slow_movers.forEach(s => pm.expect(s.stock).to.be.above(0)); });"]),
        request("Products report as CSV", "GET", "/api/v1/reports/products", status(200) + [
            "pm.test('a header row and the products sold', () => { const lines = pm.response.text().split('\\r\\n').filter(l => l); pm.expect(lines[0]).to.eql('product_id,name,category,units,revenue'); pm.expect(lines.length).to.be.above(1); });"],
            headers={"Accept": "text/csv"}),
        request("Clients report", "GET", "/api/v1/reports/clients?limit=3", status(200) + [
            "pm.test('top spenders, most first', () => { const t = pm.response.json().top_clients; pm.expect(t.length).to.be.within(1, 3); for (let i = 1; i < t.length; i++) { pm.expect(parseFloat(t[i - 1].spend)).to.be.at.least(parseFloat(t[i].spend)); } });",
            "pm.test('a cohort per month of the period, each starting at 100 %', () => { const c = pm.response.json().cohorts; pm.expect(c.length).to.be.within(1, 2); c.filter(x => x.clients > 0).forEach(x => { pm.expect(x.active[0]).to.eql(x.clients); pm.expect(x.retention_percent[0]).to.eql(100); }); });"]),
        request("Sales report, last 30 days", "GET", "/api/v1/reports/sales", status(200) + [
            "pm.test('every day present, in order', () => { const b = pm.response.json(); pm.expect(b.items).to.have.lengthOf(30); pm.expect(b.items[29].start).to.eql(b.to); pm.expect(b.granularity).to.eql('day'); });",
            "pm.test('the orders of this run count, and the days add up to the totals', () => { const b = pm.response.json(); pm.expect(b.totals.orders).to.be.above(0); pm.expect(b.items.reduce((n, d) => n + d.orders, 0)).to.eql(b.totals.orders); });",
            "pm.test('money as exact decimal strings', () => { const t = pm.response.json().totals; ['revenue', 'gross', 'refunds', 'aov'].forEach(k => pm.expect(t[k]).to.match(/^-?[0-9]+\\.[0-9]{2}$/)); });"]),
        request("Sales report by month as CSV", "GET", "/api/v1/reports/sales?granularity=month", status(200) + [
            "pm.test('CSV with a header row', () => { pm.expect(pm.response.headers.get('Content-Type')).to.include('text/csv'); pm.expect(pm.response.text().split('\\r\\n')[0]).to.eql('start,end,revenue,gross,refunds,orders,items,aov'); });"],
            headers={"Accept": "text/csv"}),
        request("Workshops report, last 30 days by month", "GET", "/api/v1/reports/workshops", status(200) + [
            "pm.test('the enrollment payment of this run counts', () => { const b = pm.response.json(); pm.expect(b.granularity).to.eql('month'); pm.expect(parseFloat(b.totals.received)).to.be.above(0); pm.expect(b.by_modality).to.be.an('array').that.is.not.empty; pm.expect(b.by_category).to.be.an('array').that.is.not.empty; });",
            "pm.test('the months add up to the totals', () => { const b = pm.response.json(); pm.expect(b.items.length).to.be.within(1, 2); const cents = v => Math.round(parseFloat(v) * 100); pm.expect(b.items.reduce((n, i) => n + cents(i.income), 0)).to.eql(cents(b.totals.income)); pm.expect(cents(b.totals.received) - cents(b.totals.refunded)).to.eql(cents(b.totals.income)); });",
            "pm.test('each workshop held: seats within capacity', () => pm.response.json().workshops.forEach(w => { pm.expect(w.seats_taken).to.be.at.most(w.capacity); pm.expect(w.owed).to.match(/^[0-9]+\\.[0-9]{2}$/); }));"]),
        request("Workshops report as CSV", "GET", "/api/v1/reports/workshops?granularity=week", status(200) + [
            "pm.test('a header row', () => pm.expect(pm.response.text().split('\\r\\n')[0]).to.eql('workshop_id,name,category,modality,starts_at,capacity,seats_taken,occupancy_percent,paid,owed,income'));"],
            headers={"Accept": "text/csv"}),
        request("Sales report, reversed period", "GET", "/api/v1/reports/sales?from=2026-02-02&to=2026-02-01", status(422) + PROBLEM + code("validation_failed") + [
            "pm.test('names the field', () => pm.expect(pm.response.json().errors[0].field).to.eql('from'));"]),
        request("Dashboard page", "GET", "/dashboard", status(200) + [
            "pm.test('an HTML page loading its own script under a strict CSP', () => { pm.expect(pm.response.headers.get('Content-Type')).to.include('text/html'); pm.expect(pm.response.text()).to.include('/dashboard/assets/dashboard.js'); pm.expect(pm.response.headers.get('Content-Security-Policy')).to.include(\"style-src 'self';\"); });"],
            auth="none"),
        request("Dashboard script", "GET", "/dashboard/assets/dashboard.js", status(200) + [
            "pm.test('JavaScript that reads the reports', () => { pm.expect(pm.response.headers.get('Content-Type')).to.include('text/javascript'); pm.expect(pm.response.text()).to.include('/api/v1/reports/kpis'); });"],
            auth="none"),
        request("Dashboard file that does not exist", "GET", "/dashboard/assets/secrets.txt", status(404) + PROBLEM + code("route_not_found"),
            auth="none"),
        request("Unknown route", "GET", "/api/v1/nothing", status(404) + PROBLEM + code("route_not_found")),
        request("Wrong method", "PUT", "/api/v1/clients", status(405) + PROBLEM + code("method_not_allowed") + [
            "pm.test('Allow header', () => pm.expect(pm.response.headers.get('Allow')).to.eql('GET, POST'));"]),
    ]),
    ("Clean-up", [
        request("Delete a client with enrollments", "DELETE", "/api/v1/clients/{{enrollClientId}}", status(409) + PROBLEM + code("client_in_use")),
        request("Delete client", "DELETE", "/api/v1/clients/{{clientId}}", status(204)),
        request("Deleted client is gone", "GET", "/api/v1/clients/{{clientId}}", status(404) + PROBLEM + code("client_not_found")),
        request("Delete an interest workshops use", "DELETE", "/api/v1/interests/{{interestId}}", status(409) + PROBLEM + code("interest_in_use")),
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
    "auth": {"type": "bearer", "bearer": [{"key": "token", "value": "{{apiKey}}", "type": "string"}]},
    "item": [{"name": name, "item": items} for name, items in folders],
}
here = pathlib.Path(__file__).parent
environment = {
    "name": "Hybrid CRM local",
    "values": [
        {"key": "baseUrl", "value": "http://127.0.0.1:8080", "enabled": True},
        # An admin key: scripts/run.sh prints one; `hybrid-crm api-key create --role admin --name me` makes one.
        {"key": "apiKey", "value": "", "type": "secret", "enabled": True},
        # The mail sink's messages (scripts/mail_sink.py): the storefront folder reads its links there.
        {"key": "mailUrl", "value": "http://127.0.0.1:8025", "enabled": True},
    ],
}
files = {
    "hybrid-crm.postman_collection.json": json.dumps(collection, indent=2) + "\n",
    "local.postman_environment.json": json.dumps(environment, indent=2) + "\n",
}
# `--check`: fail when the committed files are not what this script makes (edit the script, not them).
if sys.argv[1:] == ["--check"]:
    stale = [name for name, text in files.items() if (here / name).read_text() != text]
    if stale:
        sys.exit(f"stale: {', '.join(stale)}; run python3 postman/generate.py")
else:
    for name, text in files.items():
        (here / name).write_text(text)
