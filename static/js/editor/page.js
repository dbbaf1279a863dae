/* What every module of the writing page shares: its addresses, the CSRF token, the texts on it. */

var root = document.getElementById("section-editing");
var csrfMeta = document.querySelector('meta[name="csrf-token"]');

export var page = {
  root: root,
  slug: root ? root.dataset.slug : "",
  code: root ? root.dataset.code : "",
  apiUrl: root ? root.dataset.apiUrl : "",
  presenceUrl: root ? root.dataset.presenceUrl : "",
  csrfToken: csrfMeta ? csrfMeta.content : "",
  parts: [],
};

export function setCsrfToken(token) {
  page.csrfToken = token;
  if (csrfMeta) {
    csrfMeta.content = token;
  }
}
