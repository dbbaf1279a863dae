// Lists reordered with "up" / "down" buttons: after the page reloads, give the keyboard focus back
// to the button just used (named by the address's #fragment), or to its neighbour when the line
// reached the top or the bottom and that button is now disabled.
(() => {
  const id = decodeURIComponent(window.location.hash.slice(1));
  if (!id) return;
  const button = document.getElementById(id);
  if (!(button instanceof HTMLButtonElement)) return;
  const other = id.endsWith("up") ? id.replace(/up$/, "down") : id.replace(/down$/, "up");
  const target = button.disabled ? document.getElementById(other) : button;
  if (target && !target.disabled) {
    target.focus();
    target.scrollIntoView({ block: "center" });
  }
})();

// Buttons that destroy something ask first (data-confirm holds the question); without
// JavaScript they act directly, which the server allows since what they remove is empty.
document.addEventListener("click", (event) => {
  const button = event.target instanceof Element ? event.target.closest("[data-confirm]") : null;
  if (button && !window.confirm(button.dataset.confirm)) event.preventDefault();
});
