// Progressive enhancement: a "Copy" button beside a read-only field or a block of
// text. Without JavaScript the button stays hidden and the text is selected by hand.
document.querySelectorAll("[data-copy-target]").forEach(function (button) {
  var field = document.getElementById(button.getAttribute("data-copy-target"));
  if (!field || !navigator.clipboard) { return; }
  button.hidden = false;
  var label = button.textContent;
  button.addEventListener("click", function () {
    var text = field.value !== undefined ? field.value : field.textContent;
    navigator.clipboard.writeText(text).then(function () {
      button.textContent = button.getAttribute("data-copied") || "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
});
