// Consortio, volunteering page: "copy the link" buttons (data-copy="#id-of-the-input").
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button) return;
  const input = document.querySelector(button.dataset.copy);
  if (!input) return;
  const status = document.querySelector(button.dataset.copyStatus || "");
  let copied = false;
  try {
    await navigator.clipboard.writeText(input.value);
    copied = true;
  } catch {
    // Without clipboard access (plain http, old browser): select the text so Ctrl+C copies it.
    input.focus();
    input.select();
    copied = document.execCommand && document.execCommand("copy");
  }
  if (status) {
    status.textContent = copied ? "Lien copié." : "Le lien est sélectionné : copiez-le avec Ctrl+C.";
  }
});
