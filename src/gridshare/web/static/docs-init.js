// Starts Swagger UI on our OpenAPI document and logs in with our server, PKCE on.
(function () {
  var el = document.getElementById("swagger-ui");
  var ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    oauth2RedirectUrl: window.location.origin + "/docs/ui/oauth2-redirect.html",
    persistAuthorization: false,
  });
  ui.initOAuth({
    clientId: el.dataset.clientId,
    scopes: el.dataset.scopes,
    usePkceWithAuthorizationCodeGrant: true,
  });
  window.ui = ui;
})();
