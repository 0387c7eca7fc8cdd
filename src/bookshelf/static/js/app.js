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
  // Submit the sort/page-size form as soon as a choice is made.
  for (const select of document.querySelectorAll(".list-controls select")) {
    select.addEventListener("change", () => select.form.requestSubmit());
  }
  // A cover over the limit is named beside its field before the upload starts, so the other
  // inputs are kept (the server would answer a body that large with its 413 page).
  for (const input of document.querySelectorAll("input[type=file][data-max-bytes]")) {
    input.form.addEventListener("submit", (event) => {
      const file = input.files[0];
      if (!file || file.size <= Number(input.dataset.maxBytes)) return;
      event.preventDefault();
      const id = `${input.id}-error`;
      let error = document.getElementById(id);
      if (!error) {
        error = document.createElement("p");
        error.className = "field-error";
        error.id = id;
        input.closest(".field").append(error);
      }
      error.textContent = input.dataset.tooLarge;
      input.closest(".field").classList.add("has-error");
      input.setAttribute("aria-invalid", "true");
      input.setAttribute("aria-describedby", id);
      input.focus();
    });
  }
});
