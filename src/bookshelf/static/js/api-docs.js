// Starts Swagger UI on the API docs page (a file, since the CSP forbids inline scripts).
window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({ url: root.dataset.specUrl, domNode: root, deepLinking: true });
});
