/* The people and members a comment may mention are sent once for the page (<template id="mention-choices">)
   and put in a text's comment form when its comments are opened, not repeated under every text. */

var choices = document.getElementById("mention-choices");

function fill(details) {
  details.querySelectorAll("select[data-mention-choices]").forEach(function (select) {
    if (!select.options.length) {
      select.append(choices.content.cloneNode(true));
    }
  });
}

if (choices) {
  document.querySelectorAll(".new-comment .mention-field[hidden]").forEach(function (field) {
    field.hidden = false;
  });
  document.querySelectorAll("details.comments").forEach(function (details) {
    if (details.open) {
      fill(details);
    }
    details.addEventListener("toggle", function () {
      if (details.open) {
        fill(details);
      }
    });
  });
}
