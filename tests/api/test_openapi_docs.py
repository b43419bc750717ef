"""/openapi.json tells a partner how to call each endpoint (its scope, the OAuth2
authorization-code flow at our own issuer, the error bodies), and /docs serves Swagger UI from
our own origin only."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from gridshare.config import Settings
from tests.api.homes_support import ENDPOINTS, SCOPES, running_app
from tests.support import TestServices

SCHEME = "OAuth2AuthorizationCodeBearer"


def _operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        f"{method.upper()} {path}": op
        for path, item in doc["paths"].items()
        for method, op in item.items()
    }


def _documented(path: str) -> str:
    return (
        path.split("?")[0]
        .replace("{site}", "{siteId}")
        .replace("{device}", "{synthId}")
        .replace("{tariff}", "{tariffId}")
    )


async def test_every_endpoint_documents_its_scope(gs: TestServices) -> None:
    response = await gs.http.get("/openapi.json")
    assert response.status_code == 200, response.text
    operations = _operations(response.json())
    for endpoint in ENDPOINTS:
        if endpoint.path.endswith("/operationmode"):
            assert f"{endpoint.method} {_documented(endpoint.path)}" not in operations
            continue
        op = operations[f"{endpoint.method} {_documented(endpoint.path)}"]
        assert op["security"] == [{SCHEME: [endpoint.scope]}], endpoint.id
        assert f"Scope: `{endpoint.scope}`" in op["description"], endpoint.id
        responses = op["responses"]
        assert str(endpoint.ok) in responses, endpoint.id
        for status in ("401", "403", "429"):
            error = responses[status]["content"]["application/json"]["schema"]
            assert error == {"$ref": "#/components/schemas/ErrorBody"}, (endpoint.id, status)
        if endpoint.takes_site or endpoint.takes_device or endpoint.takes_tariff:
            assert "404" in responses and "400" in responses, endpoint.id
        assert "422" not in responses or endpoint.method == "PUT", (
            f"{endpoint.id}: parameter errors are 400s, not FastAPI's 422"
        )
        if endpoint.is_write:
            assert "requestBody" in op and "413" in responses, endpoint.id


async def test_no_framework_validation_schemas_leak_into_the_document(gs: TestServices) -> None:
    doc = (await gs.http.get("/openapi.json")).json()
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
    text = str(doc)
    assert "_doc" not in text, "the internal security dependency must not become a parameter"
    body = schemas["OverlayPlanBody"]
    assert body["additionalProperties"] is False
    # One closed schema per command type (generated from the models that validate plans):
    # each says exactly which fields its type takes.
    command = schemas["OverlayCommand"]
    branches = [schemas[ref["$ref"].rsplit("/", 1)[1]] for ref in command["oneOf"]]
    assert all(branch["additionalProperties"] is False for branch in branches)
    types = {branch["properties"]["type"]["const"]: branch for branch in branches}
    assert set(types) == {"charge", "idle", "setpoint", "heatWater"}
    assert "powerW" not in types["idle"]["properties"]
    assert "powerW" not in types["heatWater"]["properties"]
    assert "powerW" in types["setpoint"]["required"]
    intent = schemas["ScheduleIntent"]
    assert set(intent["required"]) == {"kind", "socMin", "socMax"}
    patch = schemas["DevicePatchBody"]
    assert "required" not in patch and patch["additionalProperties"] is False


async def test_the_security_scheme_is_our_authorization_code_flow(gs: TestServices) -> None:
    doc = (await gs.http.get("/openapi.json")).json()
    scheme = doc["components"]["securitySchemes"][SCHEME]
    assert scheme["type"] == "oauth2"
    assert list(scheme["flows"]) == ["authorizationCode"]
    flow = scheme["flows"]["authorizationCode"]
    issuer = gs.services.issuer
    assert flow["authorizationUrl"] == f"{issuer}/oauth2/authorize"
    assert flow["tokenUrl"] == f"{issuer}/oauth2/token"
    assert set(flow["scopes"]) == set(SCOPES)


async def test_the_flow_follows_a_configured_issuer(settings: Settings) -> None:
    custom = settings.model_copy(update={"issuer": "https://id.example.org/"})
    async with running_app(custom) as (_, gs):
        doc = (await gs.http.get("/openapi.json")).json()
    flow = doc["components"]["securitySchemes"][SCHEME]["flows"]["authorizationCode"]
    assert flow["authorizationUrl"] == "https://id.example.org/oauth2/authorize"
    assert flow["tokenUrl"] == "https://id.example.org/oauth2/token"


def _urls(page: str) -> list[str]:
    return re.findall(r'(?:src|href)\s*=\s*["\']([^"\']+)["\']', page, flags=re.IGNORECASE)


async def test_docs_serve_swagger_ui_from_our_origin(gs: TestServices) -> None:
    response = await gs.http.get("/docs")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    urls = _urls(page)
    scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', page)
    styles = re.findall(r'<link[^>]*rel="stylesheet"[^>]*href="([^"]+)"', page)
    assert scripts and styles, "Swagger UI's script and style are referenced"
    assert any("swagger-ui" in s for s in scripts) and any("swagger-ui" in s for s in styles)
    for url in urls:
        parts = urlsplit(url)
        assert not parts.scheme and not parts.netloc, f"third-party URL in /docs: {url}"
        assert url.startswith("/"), url
    assert "<script>" not in page.replace(" ", ""), "no inline script (CSP forbids it)"
    for url in scripts + styles:
        asset = await gs.http.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 100, url

    csp = response.headers["content-security-policy"]
    directives = dict(
        (d.split()[0], d.split()[1:]) for d in (p.strip() for p in csp.split(";")) if d
    )
    assert directives["default-src"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert "'self'" in directives["style-src"]
    for sources in directives.values():
        for source in sources:
            assert not re.match(r"(https?:)?//|\*", source), f"CSP allows a foreign source {source}"


async def test_docs_init_logs_in_with_pkce_against_our_document(gs: TestServices) -> None:
    page = (await gs.http.get("/docs")).text
    init = next(u for u in _urls(page) if u.endswith(".js") and "swagger-ui" not in u)
    script = (await gs.http.get(init)).text
    assert '"/openapi.json"' in script
    assert "usePkceWithAuthorizationCodeGrant: true" in script
    assert not re.search(r"https?://", script), "no hard-coded foreign origin"


async def test_the_api_docs_client_can_log_in_on_a_loopback_issuer(settings: Settings) -> None:
    local = settings.model_copy(update={"issuer": "http://127.0.0.1:8000"})
    async with running_app(local) as (_, gs):
        page = (await gs.http.get("/docs")).text
        client_id = re.search(r'data-client-id="([^"]+)"', page)
        assert client_id
        client = await gs.services.clients.get(client_id.group(1))
        assert client is not None
        assert "http://127.0.0.1:8000/docs/ui/oauth2-redirect.html" in client.redirect_uris
        redirect = await gs.http.get("/docs/ui/oauth2-redirect.html")
        assert redirect.status_code == 200
