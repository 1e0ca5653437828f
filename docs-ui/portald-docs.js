// The docs page of portald: Swagger UI on the daemon's own /openapi.json, and a login form above it.
// A login (here, or by trying POST /auth/login below) authorizes every later "Try it out" with the
// bearer token; the jwt cookie the login sets works too (same origin). No inline script: the page's
// Content-Security-Policy allows scripts from this origin only.
(function () {
  "use strict";

  var ui = SwaggerUIBundle({
    url: "/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    validatorUrl: null,          // never ask validator.swagger.io (no network beyond this device)
    persistAuthorization: false, // the token is not written to localStorage
    tryItOutEnabled: true,
    withCredentials: true,
    layout: "BaseLayout",
    responseInterceptor: function (response) {
      if (response && response.ok && /\/auth\/(login|token)(\?|$)/.test(response.url || "") && response.body &&
          response.body.token) {
        authorize(response.body.token);
      }
      return response;
    },
  });
  window.ui = ui;

  function authorize(token) {
    ui.authActions.authorize({
      bearer: { name: "bearer", schema: { type: "http", scheme: "bearer", bearerFormat: "JWT" }, value: token },
      token: { name: "token", schema: { type: "apiKey", in: "query", name: "token" }, value: token },
    });
  }

  var form = document.getElementById("portald-login-form");
  var status = document.getElementById("portald-login-status");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    status.textContent = "logging in...";
    fetch("/auth/login?m=" + encodeURIComponent(data.get("m")), {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      credentials: "same-origin",
      body: JSON.stringify({ username: data.get("username"), password: data.get("password") }),
    }).then(function (response) {
      return response.json().then(function (body) { return { ok: response.ok, status: response.status, body: body }; });
    }).then(function (answer) {
      if (answer.ok && answer.body.token) {
        authorize(answer.body.token);
        form.elements.password.value = "";
        status.textContent = "logged in (token valid until " + answer.body.expire + "); " +
          "with the factory password only PUT /auth/user/admin/password is allowed";
      } else {
        var body = answer.body || {};
        var message = body.Message || body.message || (body.errors && JSON.stringify(body.errors)) || "";
        status.textContent = "login refused (" + answer.status + "): " + message;
      }
    }).catch(function (error) {
      status.textContent = "login failed: " + error;
    });
  });
})();
