// Progressive enhancement only: every page works without this file (the CSP forbids inline scripts).
document.addEventListener("DOMContentLoaded", () => {
  for (const button of document.querySelectorAll(".flash-close")) {
    button.hidden = false;
    button.addEventListener("click", () => button.closest(".flash").remove());
  }
  // Submit the sort/page-size and language forms as soon as a choice is made.
  for (const select of document.querySelectorAll(".list-controls select, .language-form select")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
});
