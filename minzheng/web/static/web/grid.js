// 网格事件上报: fill the latitude and longitude from the phone's position (no inline script: the CSP
// forbids it). The worker may still type or correct them.
(function () {
  "use strict";
  var button = document.querySelector("[data-locate]");
  if (!button || !navigator.geolocation) { return; }
  button.addEventListener("click", function () {
    var status = document.querySelector("[data-locate-status]");
    navigator.geolocation.getCurrentPosition(function (position) {
      document.getElementById("id_lat").value = position.coords.latitude.toFixed(6);
      document.getElementById("id_lng").value = position.coords.longitude.toFixed(6);
      if (status) { status.textContent = button.dataset.located || ""; }
    }, function () {
      if (status) { status.textContent = button.dataset.failed || ""; }
    }, { enableHighAccuracy: true, timeout: 15000 });
  });
})();
