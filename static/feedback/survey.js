// The survey page: tells the clinic a person opened the link (a link-preview bot runs no
// script, so its GET records nothing), and submits the score chosen in an email's
// one-tap link.
(function () {
  "use strict";
  var form = document.querySelector("[data-survey-opened]");
  if (form && navigator.sendBeacon) {
    navigator.sendBeacon(form.getAttribute("data-survey-opened"));
  }
  var preset = document.querySelector("[data-autosubmit] [data-preset]");
  if (preset) {
    preset.form.requestSubmit(preset);
  }
  var heading = document.querySelector("[data-focus]");
  if (heading) {
    heading.focus();
  }
})();
