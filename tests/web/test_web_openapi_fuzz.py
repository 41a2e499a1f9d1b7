"""schemathesis against /api/openapi.json: generated valid and invalid requests, no server error,
responses that match the document."""
from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from webtools import BEARER, TOKEN

from tasker.web import create_app

EXAMPLES = 25


def test_api_conforms_to_its_openapi_document(app):
    @app.handler("fuzz")
    def echo(payload):
        return payload

    seed = app.create("fuzz", {"seed": 1})
    # The cron secret equals the token so the cron endpoints are exercised too.
    web = create_app(app, token=TOKEN, cron_secret=TOKEN)
    # Schemathesis sends wrong credentials on purpose, again and again; the failed-login throttle
    # would then answer 429 to everything (it has its own test in tests/hostile/test_web_security.py).
    web.state.web.throttle.limit = 10**9
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", web, headers=BEARER)
    # Every call carries the token (the auth tests cover refusals); unknown query parameters
    # are ignored, as most web APIs do; NUL characters, which PostgreSQL cannot store, are
    # refused with a 422 that a JSON Schema cannot describe (test_web_api covers it).
    schema.config.generation.update(with_security_parameters=False, allow_extra_parameters=False, allow_x00=False)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12
    failures = []
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                fuzz(operation, mode, seed)
            except Unsatisfiable:  # nothing to make invalid: an operation without parameters or body
                assert mode is GenerationMode.NEGATIVE
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report them together
                failures.append(f"{operation.label} [{mode.value}]: {exc}")
    assert not failures, "\n\n".join(failures)


def fuzz(operation: Any, mode: GenerationMode, seed: str) -> None:
    """``EXAMPLES`` generated requests to one operation, each response checked by schemathesis."""

    @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
              phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        if mode is GenerationMode.POSITIVE and isinstance(case.body, dict) and case.body.get("depends_on"):
            # Dependencies must name existing tasks, which a generator cannot know (else 422).
            case.body["depends_on"] = [seed]
        case.call_and_validate(headers=BEARER)

    run()
