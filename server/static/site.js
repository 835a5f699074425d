// patternkg site: small progressive enhancements (every page works without this file).
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  // the audience switcher applies at once (without JavaScript, its "Apply" button does)
  document.querySelectorAll("select.autosubmit").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
