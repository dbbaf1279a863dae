// Opening a consortium: show the "new call" / "new organisation" fields only when chosen, and
// suggest the consortium's address from its title until the person types one of their own.
(() => {
  for (const select of document.querySelectorAll("select[data-toggles]")) {
    const target = document.getElementById(select.dataset.toggles);
    if (!target) continue;
    const update = () => {
      target.hidden = select.value !== target.dataset.shownFor;
    };
    select.addEventListener("change", update);
    update();
  }

  const ligatures = { "œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE", "ß": "ss" };
  const slugFrom = (text) =>
    (text.replace(/[œŒæÆß]/g, (c) => ligatures[c])
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .match(/[a-z0-9]+/g) || [])
      .join("-")
      .slice(0, 60)
      .replace(/-+$/, "");

  // One click opens one consortium: a double click must not send the form twice.
  for (const form of document.querySelectorAll("form.wizard")) {
    form.addEventListener("submit", () => {
      const button = form.querySelector("button[type=submit]");
      if (button) setTimeout(() => { button.disabled = true; }, 0);
    });
  }

  for (const source of document.querySelectorAll("[data-slug-source]")) {
    const slug = document.getElementById(source.dataset.slugSource);
    if (!slug) continue;
    // A slug already there (typed, or kept after an error) is the person's own choice.
    let suggested = slug.value === "" || slug.value === slugFrom(source.value);
    slug.addEventListener("input", () => {
      suggested = slug.value === "";
    });
    const suggest = () => {
      if (suggested) slug.value = slugFrom(source.value);
    };
    source.addEventListener("input", suggest);
    // A title typed before this script ran (a slow page) gets its address too.
    suggest();
  }
})();
