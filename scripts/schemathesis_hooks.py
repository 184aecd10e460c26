"""schemathesis hooks for scripts/schemathesis.sh.

An Idempotency-Key means "this is the same operation as before": the API replays the first
response for the same request and refuses the key for a different one (422
idempotency_key_reused). Generated cases are all different operations, so each valid key is
replaced by a fresh one, as an integrator would send; invalid keys are left as generated, so
their 400s are still exercised.
"""
import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"^[!-~]{1,255}$")


@schemathesis.hook
def before_call(ctx, case, **kwargs):
    headers = case.headers or {}
    for name in list(headers):
        if name.lower() == "idempotency-key" and isinstance(headers[name], str) and VALID_KEY.match(headers[name]):
            headers[name] = str(uuid.uuid4())
        # `If-None-Match: *` rightly answers 304 for anything that exists, which the
        # positive-data check counts as a rejection; other generated tags still go out.
        if name.lower() == "if-none-match" and isinstance(headers[name], str) and headers[name].strip() == "*":
            del headers[name]
    # The run's own admin key must survive it: revocations go to ids no key has (the revoke path
    # itself is covered by the integration tests and Postman).
    if case.method.upper() == "DELETE" and case.operation.path == "/api/v1/api-keys/{id}":
        case.path_parameters = {**(case.path_parameters or {}), "id": str(uuid.uuid4())}
