// Payments pages: the roster's print button (the Content Security Policy forbids inline handlers).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-action='print']");
  if (button) {
    window.print();
  }
});
