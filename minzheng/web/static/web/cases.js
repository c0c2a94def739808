// Case intake: choosing an item reloads the form with its materials list; the proxy fields show only
// for a proxy application. (Static file: the Content Security Policy forbids inline scripts.)
document.addEventListener("change", (event) => {
  const select = event.target.closest("select[data-autosubmit]");
  if (select && select.value) {
    select.form.submit();
  }
});

function toggleProxyFields() {
  const channel = document.getElementById("id_channel");
  const fields = document.querySelector("[data-proxy-fields]");
  if (!channel || !fields) {
    return;
  }
  fields.classList.toggle("is-hidden", channel.value !== "proxy");
}

document.addEventListener("change", (event) => {
  if (event.target.id === "id_channel") {
    toggleProxyFields();
  }
});
document.addEventListener("DOMContentLoaded", toggleProxyFields);
