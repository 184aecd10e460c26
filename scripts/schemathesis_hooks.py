"""schemathesis hooks for scripts/schemathesis.sh.

An Idempotency-Key means "this is the same operation as before": the API replays the first
response for the same request and refuses the key for a different one (422
idempotency_key_reused). Generated cases are all different operations, so each valid key is
replaced by a fresh one, as an integrator would send; invalid keys are left as generated, so
their 400s are still exercised.
"""
import os
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
    # The run's own admin key must survive it (keys it created itself may be revoked).
    own = os.environ.get("API_KEY_ID")
    if case.method.upper() == "DELETE" and own and (case.path_parameters or {}).get("id") == own:
        case.path_parameters = {**case.path_parameters, "id": str(uuid.uuid4())}
