// "Copy the codes" button on the recovery codes page (the textarea works without it).
(function () {
  "use strict";
  var button = document.getElementById("copy-recovery-codes");
  var text = document.getElementById("recovery-codes-text");
  if (!button || !text || !navigator.clipboard) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    navigator.clipboard.writeText(text.value).then(function () {
      button.textContent = button.getAttribute("data-copied");
    });
  });
})();
