/* Copies of a text kept in this browser until the server confirms it (one per text, with its base). */

import { page } from "./page.js";

function prefix(part) {
  return "consortio:" + page.slug + ":" + page.code + ":" + part.key + ":";
}

export function forgetLocal(part) {
  try {
    Object.keys(localStorage).forEach(function (key) {
      if (key.indexOf(prefix(part)) === 0) {
        localStorage.removeItem(key);
      }
    });
  } catch (error) { /* storage disabled: nothing to forget */ }
}

export function keepLocal(part, html) {
  try {
    forgetLocal(part);
    localStorage.setItem(prefix(part) + part.base, JSON.stringify({ content: html, base: part.base, at: Date.now() }));
    return true;
  } catch (error) {
    return false;
  }
}

export function findLocal(part) {
  try {
    var found = null;
    Object.keys(localStorage).forEach(function (key) {
      if (key.indexOf(prefix(part)) === 0) {
        var value = JSON.parse(localStorage.getItem(key));
        if (value && typeof value.content === "string" && typeof value.base === "number") {
          found = value;
        }
      }
    });
    return found;
  } catch (error) {
    return null;
  }
}
