// Progressive enhancement only: every page works without this file (the CSP forbids inline scripts).
document.addEventListener("DOMContentLoaded", () => {
  // The phone menu: the stylesheet folds the links away only once this button can open them.
  const toggle = document.querySelector(".menu-toggle");
  if (toggle) {
    const nav = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.hidden = false;
    document.documentElement.classList.add("has-menu");
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      nav.classList.toggle("open", open);
    });
  }
  for (const button of document.querySelectorAll(".flash-close")) {
    button.hidden = false;
    button.addEventListener("click", () => button.closest(".flash").remove());
  }
  // Submit the sort/page-size and language forms as soon as a choice is made.
  for (const select of document.querySelectorAll(".list-controls select, .language-form select")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
});
