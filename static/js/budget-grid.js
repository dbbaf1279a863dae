// Consortio: the budget, staff and indicator grids.
// Live feedback only: the server parses and computes again (app/money.parse_amount,
// app/budget/calculations.flat_rate). Amounts are integer cents (BigInt) so the totals shown
// here are the server's to the cent: flat rate = rate × base, half-up to the cent.
(() => {
  "use strict";

  const SPACES = " \u00a0\u202f";
  const TYPED = /^[0-9., \u00a0\u202f]+$/;
  const GROUPED = /^[0-9]{1,3}(?:[ \u00a0\u202f][0-9]{3})+$/;
  const MAX_DIGITS = 12;

  class Refused extends Error {}

  function stripEuro(text) {
    if (text.startsWith("€")) return text.slice(1).trimStart();
    if (text.endsWith("€")) return text.slice(0, -1).trimEnd();
    return text;
  }

  function hasForeignDigit(text) {
    return [...text].some((c) => /\p{Nd}/u.test(c) && !/[0-9]/.test(c));
  }

  function mixedMessage(body) {
    const cut = Math.max(body.lastIndexOf("."), body.lastIndexOf(","));
    const digits = [...body.slice(0, cut)].filter((c) => /[0-9]/.test(c)).join("");
    const fraction = body.slice(cut + 1);
    let example = "1234,56";
    if (digits && /^[0-9]+$/.test(fraction) && fraction.length <= 2) {
      example = `${BigInt(digits)},${fraction}`;
    }
    return `Montant ambigu : n'utilisez pas à la fois le point et la virgule ; écrivez par exemple ${example}.`;
  }

  // Mirror of app/money.parse_amount: cents as a BigInt, or a Refused error with the same French message.
  function parseAmount(text) {
    let body = stripEuro(text.trim());
    if (!body) throw new Refused("Montant vide : saisissez un nombre, par exemple 1234,56.");
    const negative = body[0] === "-" || body[0] === "\u2212";
    if (negative) body = body.slice(1).trimStart();
    if (!TYPED.test(body)) {
      if (hasForeignDigit(body)) throw new Refused("Montant invalide : utilisez uniquement les chiffres de 0 à 9.");
      throw new Refused("Montant invalide : saisissez un nombre, par exemple 1 234,56.");
    }
    if (negative) throw new Refused("Montant invalide : les montants négatifs ne sont pas autorisés.");
    if (body.includes(".") && body.includes(",")) throw new Refused(mixedMessage(body));
    const separators = [...body].filter((c) => c === "." || c === ",").length;
    if (separators > 1) throw new Refused("Montant invalide : les milliers se séparent par une espace (1 234 567).");
    const sep = body.includes(".") ? "." : ",";
    const at = body.indexOf(sep);
    const integer = at < 0 ? body : body.slice(0, at);
    const fraction = at < 0 ? "" : body.slice(at + 1);
    const grouped = [...integer].some((c) => SPACES.includes(c));
    const wellFormed = integer.length > 0 && (!grouped || GROUPED.test(integer));
    if (!wellFormed || (at >= 0 && !/^[0-9]+$/.test(fraction))) {
      throw new Refused("Montant invalide : écrivez par exemple 1234,56 ou 1 234,56.");
    }
    const digits = [...integer].filter((c) => !SPACES.includes(c)).join("");
    if (fraction.length === 3 && !grouped) {
      const thousands = BigInt(digits + fraction).toString();
      if (fraction.endsWith("0")) {
        throw new Refused(`Montant ambigu : écrivez ${thousands} ou ${BigInt(digits)},${fraction.slice(0, 2)}.`);
      }
      throw new Refused(
        `Montant ambigu : écrivez ${thousands} pour des milliers ; les centimes ont deux chiffres au plus.`,
      );
    }
    if (fraction.length > 2) {
      throw new Refused("Montant invalide : deux chiffres au plus après la virgule (les centimes).");
    }
    if (digits.replace(/^0+/, "").length > MAX_DIGITS) {
      throw new Refused("Montant trop élevé : le maximum est 999\u202f999\u202f999\u202f999,99\u00a0€.");
    }
    return BigInt(digits) * 100n + BigInt((fraction + "00").slice(0, 2));
  }

  // Mirror of app/budget/entry_forms.parse_count.
  function parseCount(text) {
    const body = text.trim();
    if (!body) return 0n;
    if (body[0] === "-" || body[0] === "\u2212") {
      throw new Refused("Nombre invalide : les nombres négatifs ne sont pas autorisés.");
    }
    if (hasForeignDigit(body)) throw new Refused("Nombre invalide : utilisez uniquement les chiffres de 0 à 9.");
    if (body.includes(",") || body.includes(".")) {
      throw new Refused("Nombre invalide : un nombre entier de personnes, sans virgule (par exemple 12).");
    }
    if (!/^[0-9]+$/.test(body) && !GROUPED.test(body)) {
      throw new Refused("Nombre invalide : saisissez un nombre entier, par exemple 12.");
    }
    const digits = [...body].filter((c) => /[0-9]/.test(c)).join("");
    if (digits.replace(/^0+/, "").length > 9) throw new Refused("Nombre trop élevé : 999 999 999 au plus.");
    return BigInt(digits);
  }

  // « 1 234,56 € » as Babel writes it for fr_FR (narrow no-break spaces, no-break space before €).
  function formatEur(cents) {
    const negative = cents < 0n;
    const abs = negative ? -cents : cents;
    const euros = (abs / 100n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
    const rest = (abs % 100n).toString().padStart(2, "0");
    return `${negative ? "-" : ""}${euros},${rest}\u00a0€`;
  }

  function rateOf(text) {
    if (!text) return null;
    const [whole, frac = ""] = text.split(".");
    return { num: BigInt(whole + frac), den: 10n ** BigInt(frac.length) };
  }

  // rate × base, half-up to the cent (app/budget/calculations.flat_rate); base is never negative.
  function flatRate(rate, baseCents) {
    const product = baseCents * rate.num;
    let cents = product / rate.den;
    if ((product % rate.den) * 2n >= rate.den) cents += 1n;
    return cents;
  }

  function showLive(input, message) {
    const cell = input.closest("td");
    const live = cell && cell.querySelector(".cell-live");
    const serverSaid = cell && cell.querySelector(".cell-note.invalid-feedback");
    input.classList.toggle("is-invalid", Boolean(message) || Boolean(serverSaid));
    if (live) live.textContent = serverSaid ? "" : message || "";
  }

  function check(input) {
    const parse = input.classList.contains("count") ? parseCount : parseAmount;
    const blankIsZero = input.classList.contains("count") || input.closest("#budget-grid") || input.name.startsWith("m-cout-") || input.name.startsWith("m-fte-");
    if (!input.value.trim() && blankIsZero) {
      showLive(input, "");
      return 0n;
    }
    try {
      const value = parse(input.value);
      showLive(input, "");
      return value;
    } catch (error) {
      if (!(error instanceof Refused)) throw error;
      const isFte = input.name.startsWith("m-fte-");
      showLive(input, isFte ? error.message.replace("Montant", "Nombre") : error.message);
      return null;
    }
  }

  function recompute(table) {
    const years = table.dataset.years.split(" ");
    const rate = rateOf(table.dataset.rate);
    const base = new Set((table.dataset.base || "").split(" ").filter(Boolean));
    const tolerance = BigInt(table.dataset.tolerance || "0");
    const expenses = {};
    const resources = {};
    const rows = {};
    for (const year of years) {
      expenses[year] = 0n;
      resources[year] = 0n;
    }
    const baseByYear = Object.fromEntries(years.map((y) => [y, 0n]));
    for (const input of table.querySelectorAll("input.amount")) {
      const value = check(input) ?? 0n;
      const { year, kind, code } = input.dataset;
      (kind === "expense" ? expenses : resources)[year] += value;
      rows[`${kind}-${code}`] = (rows[`${kind}-${code}`] ?? 0n) + value;
      if (kind === "expense" && base.has(code)) baseByYear[year] += value;
    }
    for (const out of table.querySelectorAll("output[data-computed]")) {
      const year = out.dataset.year;
      const value = rate ? flatRate(rate, baseByYear[year]) : 0n;
      out.textContent = formatEur(value);
      expenses[year] += value;
      const key = `expense-${out.dataset.computed}`;
      rows[key] = (rows[key] ?? 0n) + value;
    }
    for (const out of table.querySelectorAll("output[data-rowtotal]")) {
      out.textContent = formatEur(rows[out.dataset.rowtotal] ?? 0n);
    }
    let totalExpenses = 0n;
    let totalResources = 0n;
    let allBalanced = true;
    for (const year of years) {
      totalExpenses += expenses[year];
      totalResources += resources[year];
      table.querySelector(`output[data-total="expense"][data-year="${year}"]`).textContent = formatEur(expenses[year]);
      table.querySelector(`output[data-total="resource"][data-year="${year}"]`).textContent = formatEur(resources[year]);
      const balance = expenses[year] - resources[year];
      const ok = (balance < 0n ? -balance : balance) <= tolerance;
      allBalanced &&= ok;
      let label = "Équilibré";
      if (!ok) label = balance > 0n ? "Il manque des ressources" : "Trop de ressources";
      setBalance(table.querySelector(`td[data-balance="${year}"]`), balance, ok, label);
    }
    table.querySelector('output[data-grandtotal="expense"]').textContent = formatEur(totalExpenses);
    table.querySelector('output[data-grandtotal="resource"]').textContent = formatEur(totalResources);
    setBalance(
      table.querySelector('td[data-balance="total"]'),
      totalExpenses - totalResources,
      allBalanced,
      allBalanced ? "Équilibré" : "Déséquilibré",
    );
  }

  function setBalance(cell, cents, ok, label) {
    cell.classList.toggle("balance-ok", ok);
    cell.classList.toggle("balance-ko", !ok);
    cell.querySelector("output").textContent = formatEur(cents);
    cell.querySelector(".balance-label").textContent = label;
  }

  function cellAt(table, row, col) {
    return table.querySelector(`input[data-row="${row}"][data-col="${col}"]`);
  }

  function move(input, dRow, dCol) {
    const table = input.closest("table");
    let row = Number(input.dataset.row) + dRow;
    let col = Number(input.dataset.col) + dCol;
    let target = cellAt(table, row, col);
    // Past the end of a line, continue on the next one (and back), like a spreadsheet's Tab.
    if (!target && dCol !== 0) {
      row += dCol;
      const inputs = [...table.querySelectorAll(`input[data-row="${row}"]`)];
      target = dCol > 0 ? inputs[0] : inputs[inputs.length - 1];
      col = target ? Number(target.dataset.col) : col;
    }
    if (target) {
      target.focus();
      target.select();
      return true;
    }
    return false;
  }

  function onKeydown(event) {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.dataset.row) return;
    const atStart = input.selectionStart === 0;
    const atEnd = input.selectionEnd === input.value.length;
    let moved = false;
    if (event.key === "Enter" && !event.shiftKey) {
      moved = move(input, 1, 0);
      event.preventDefault(); // Enter moves down; the button saves.
    } else if (event.key === "Enter" && event.shiftKey) {
      moved = move(input, -1, 0);
      event.preventDefault();
    } else if (event.key === "ArrowDown") {
      moved = move(input, 1, 0);
    } else if (event.key === "ArrowUp") {
      moved = move(input, -1, 0);
    } else if (event.key === "ArrowLeft" && atStart) {
      moved = move(input, 0, -1);
    } else if (event.key === "ArrowRight" && atEnd) {
      moved = move(input, 0, 1);
    }
    if (moved) event.preventDefault();
  }

  function onInput(event) {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.dataset.row) return;
    // What the server said about the old value no longer applies once the person types.
    for (const note of input.closest("td").querySelectorAll(".cell-note.invalid-feedback")) note.remove();
    const table = input.closest("table");
    if (table.id === "budget-grid") recompute(table);
    else check(input);
  }

  // For the browser tests, which check these against the server's parser and flat rate.
  window.consortioGrid = Object.freeze({ parseAmount, parseCount, flatRate, rateOf, formatEur });

  document.addEventListener("DOMContentLoaded", () => {
    for (const table of document.querySelectorAll("table.budget-grid")) {
      table.addEventListener("keydown", onKeydown);
      table.addEventListener("input", onInput);
      table.addEventListener("focusin", (event) => {
        if (event.target instanceof HTMLInputElement && !event.target.readOnly) event.target.select();
      });
      if (table.id === "budget-grid") recompute(table);
    }
  });
})();
