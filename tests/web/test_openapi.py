"""The OpenAPI description names every API route the app serves, with its method."""

from __future__ import annotations

import re

from tests.factories import ui_context
from tests.support import small_topology
from web.api_tokens import TokenVerifier
from web.app import create_app
from web.openapi import openapi_document


def test_every_api_route_is_described(tmp_path):
    topology = small_topology(tmp_path)
    app = create_app(ui_context(topology, tmp_path), TokenVerifier(tmp_path))
    served = {
        (re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule), method.lower())
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/openapi.json"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    described = {(path, method) for path, ops in openapi_document()["paths"].items() for method in ops}
    assert served == described
