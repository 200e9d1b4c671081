// The reception tablet (feedback.views_kiosk). The page holds the start screen and the
// questions; this script moves between them without loading pages, so that a patient can
// finish while the network is down:
// - each answer goes into a queue in localStorage with a key made here (a UUID) and is
//   sent to the answer endpoint when the network allows; the server records a key once,
//   so an answer sent again (the reply was lost) counts once;
// - after the thanks, and after data-idle-seconds without a touch (sending what was
//   answered), the start screen comes back for the next patient;
// - the start screen asks every few seconds whether the front desk sent a survey to it.
// The content security policy forbids inline scripts: everything is driven by data
// attributes.
(function () {
  "use strict";

  // The pairing page: the link carries the secret after "#" (never sent to a server).
  var secretField = document.querySelector("[data-kiosk-pair-form] input[name=secret]");
  if (secretField && window.location.hash.length > 1) {
    secretField.value = decodeURIComponent(window.location.hash.slice(1));
    window.history.replaceState(null, "", window.location.pathname);
  }

  var body = document.body;
  if (!body.hasAttribute("data-kiosk")) {
    return;
  }

  var QUEUE = "kiosk-answer-queue";
  var POLL_MS = 4000;
  var RETRY_MS = 5000;
  var THANKS_MS = 8000;
  var idleMs = (parseInt(body.dataset.idleSeconds, 10) || 45) * 1000;
  var startUrl = body.dataset.startUrl;
  var answerUrl = body.dataset.answerUrl;
  var currentUrl = body.dataset.currentUrl;
  var csrfToken = body.dataset.csrfToken;

  var start = document.querySelector("[data-kiosk-start]");
  var survey = document.querySelector("[data-kiosk-survey]");
  var thanks = document.querySelector("[data-kiosk-thanks]");
  var pendingNote = document.querySelector("[data-kiosk-pending]");
  var codeForm = document.querySelector("[data-kiosk-code-form]");
  var codeInput = codeForm && codeForm.querySelector("input[name=code]");
  var offlineNote = document.querySelector("[data-kiosk-offline]");

  // --- the queue of answers ----------------------------------------------------------

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) {
      return window.crypto.randomUUID();
    }
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    var hex = Array.prototype.map
      .call(bytes, function (b) {
        return ("0" + b.toString(16)).slice(-2);
      })
      .join("");
    return [hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16), hex.slice(16, 20), hex.slice(20)].join("-");
  }

  function loadQueue() {
    try {
      var queue = JSON.parse(window.localStorage.getItem(QUEUE));
      return Array.isArray(queue) ? queue : [];
    } catch (error) {
      return [];
    }
  }

  function saveQueue(queue) {
    window.localStorage.setItem(QUEUE, JSON.stringify(queue));
    if (pendingNote) {
      pendingNote.hidden = queue.length === 0;
    }
  }

  function drop(key) {
    saveQueue(
      loadQueue().filter(function (item) {
        return item.key !== key;
      })
    );
  }

  function enqueue(item) {
    item.key = newKey();
    var queue = loadQueue();
    queue.push(item);
    saveQueue(queue);
    flush();
  }

  var flushing = false;
  var retryTimer = null;

  function retryLater() {
    window.clearTimeout(retryTimer);
    retryTimer = window.setTimeout(flush, RETRY_MS);
  }

  // Sends the oldest answer, then the next: in order, so a score arrives before the
  // aspects of the same survey. Kept on a network error or a server error; dropped when
  // the server refuses it for good (invalid, closed, another branch).
  function flush() {
    var queue = loadQueue();
    if (flushing || queue.length === 0) {
      return;
    }
    if (!navigator.onLine) {
      retryLater();
      return;
    }
    flushing = true;
    var item = queue[0];
    window
      .fetch(answerUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken,
        },
        body: JSON.stringify(item),
      })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return {};
          })
          .then(function (data) {
            flushing = false;
            if (response.ok || [400, 404, 409, 410].indexOf(response.status) >= 0) {
              drop(item.key);
              flush();
            } else if (data.error === "revoked" || data.error === "unpaired") {
              saveQueue([]);
              window.location.assign(startUrl);
            } else if (data.error === "other_branch") {
              drop(item.key);
              flush();
            } else {
              retryLater();
            }
          });
      })
      .catch(function () {
        flushing = false;
        retryLater();
      });
  }

  window.addEventListener("online", flush);
  saveQueue(loadQueue());
  flush();

  // --- the start screen ----------------------------------------------------------------

  var pollTimer = null;

  function poll() {
    if (!start || start.hidden || !navigator.onLine || document.hidden) {
      return;
    }
    window
      .fetch(currentUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.json().then(function (data) {
          if (data.url) {
            window.location.assign(data.url);
          } else if (data.error === "revoked" || data.error === "unpaired") {
            window.location.assign(startUrl);
          }
        });
      })
      .catch(function () {});
  }

  function startPolling() {
    window.clearInterval(pollTimer);
    pollTimer = window.setInterval(poll, POLL_MS);
  }

  function resetStart() {
    if (codeInput) {
      codeInput.value = "";
      codeInput.classList.remove("is-invalid");
      codeInput.removeAttribute("aria-describedby");
    }
    document.querySelectorAll("[data-kiosk-error]").forEach(function (error) {
      error.remove();
    });
    if (offlineNote) {
      offlineNote.hidden = true;
    }
  }

  if (codeForm) {
    var keypad = codeForm.querySelector("[data-kiosk-keypad]");
    if (keypad) {
      keypad.hidden = false;
      keypad.addEventListener("click", function (event) {
        var key = event.target.closest("[data-digit]");
        if (!key || !codeInput) {
          return;
        }
        var digit = key.dataset.digit;
        if (digit === "clear") {
          codeInput.value = "";
        } else if (digit === "back") {
          codeInput.value = codeInput.value.slice(0, -1);
        } else if (codeInput.value.length < 6) {
          codeInput.value += digit;
        }
      });
    }
    codeForm.addEventListener("submit", function (event) {
      if (!navigator.onLine) {
        event.preventDefault();
        if (offlineNote) {
          offlineNote.hidden = false;
        }
      }
    });
  }

  // --- the survey ----------------------------------------------------------------------

  var npsForm = survey && survey.querySelector("[data-kiosk-step=nps]");
  var detailsForm = survey && survey.querySelector("[data-kiosk-step=details]");
  var code = survey && survey.dataset.code;
  var negative = false;
  var thanksTimer = null;

  function hasQuestions(form) {
    return form && form.querySelector("fieldset[data-attribute], textarea[name=comment]") !== null;
  }

  // The aspects chosen so far and the comment.
  function detailsGiven() {
    var answers = {};
    var missing = [];
    detailsForm.querySelectorAll("fieldset[data-attribute]").forEach(function (set) {
      var chosen = set.querySelector("input:checked");
      if (chosen) {
        answers[set.dataset.attribute] = parseInt(chosen.value, 10);
      } else {
        missing.push(set);
      }
    });
    var comment = detailsForm.querySelector("textarea[name=comment]");
    return { answers: answers, missing: missing, comment: comment ? comment.value.trim() : "" };
  }

  function showThanks() {
    survey.hidden = true;
    document.querySelectorAll("[data-kiosk-survey-only]").forEach(function (el) {
      el.hidden = true;
    });
    thanks.querySelector("[data-kiosk-thanks-negative]").hidden = !negative;
    thanks.querySelector("[data-kiosk-thanks-positive]").hidden = negative;
    thanks.hidden = false;
    var heading = thanks.querySelector("h1");
    if (heading) {
      heading.focus();
    }
    thanksTimer = window.setTimeout(backToStart, THANKS_MS);
  }

  function backToStart() {
    window.clearTimeout(thanksTimer);
    if (survey) {
      survey.remove();
      survey = null;
    }
    document.querySelectorAll("[data-kiosk-survey-only]").forEach(function (el) {
      el.remove();
    });
    if (thanks) {
      thanks.hidden = true;
    }
    if (!start) {
      window.location.assign(startUrl);
      return;
    }
    resetStart();
    start.hidden = false;
    document.documentElement.lang = start.lang || document.documentElement.lang;
    window.history.replaceState(null, "", startUrl);
    window.scrollTo(0, 0);
    startPolling();
  }

  if (npsForm) {
    npsForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = event.submitter;
      if (!chosen || chosen.name !== "nps_score") {
        return;
      }
      var score = parseInt(chosen.value, 10);
      negative = score <= 6;
      enqueue({ code: code, step: "nps", nps_score: score });
      npsForm.hidden = true;
      if (hasQuestions(detailsForm)) {
        detailsForm.hidden = false;
        window.scrollTo(0, 0);
      } else {
        enqueue({ code: code, step: "details", answers: {}, comment: "" });
        showThanks();
      }
    });
  }

  if (detailsForm) {
    detailsForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var given = detailsGiven();
      detailsForm.querySelectorAll("fieldset[data-attribute]").forEach(function (set) {
        set.querySelector("[data-kiosk-required]").hidden = given.missing.indexOf(set) < 0;
      });
      if (given.missing.length) {
        given.missing[0].scrollIntoView({ block: "center" });
        return;
      }
      Object.keys(given.answers).forEach(function (key) {
        if (given.answers[key] <= 2) {
          negative = true;
        }
      });
      enqueue({ code: code, step: "details", answers: given.answers, comment: given.comment });
      showThanks();
    });
    detailsForm.addEventListener("change", function (event) {
      var set = event.target.closest("fieldset[data-attribute]");
      if (set) {
        set.querySelector("[data-kiosk-required]").hidden = true;
      }
    });
  }

  var thanksDone = document.querySelector("[data-kiosk-done]");
  if (thanksDone) {
    thanksDone.addEventListener("click", function (event) {
      event.preventDefault();
      backToStart();
    });
  }
  if (thanks && !thanks.hidden) {
    // The thanks of a plain form's answer (the page came from the server).
    thanksTimer = window.setTimeout(backToStart, THANKS_MS);
  }

  // --- inactivity ----------------------------------------------------------------------

  // The patient walked away: what they answered on this screen is sent (the survey stays
  // open for the rest), and the next patient finds the start screen.
  function idle() {
    if (survey && !survey.hidden) {
      if (detailsForm && !detailsForm.hidden) {
        var given = detailsGiven();
        if (Object.keys(given.answers).length || given.comment) {
          enqueue({ code: code, step: "partial", answers: given.answers, comment: given.comment });
        }
      }
      backToStart();
    } else if (thanks && !thanks.hidden) {
      backToStart();
    } else {
      resetStart();
    }
  }

  var idleTimer = null;
  function touched() {
    window.clearTimeout(idleTimer);
    idleTimer = window.setTimeout(idle, idleMs);
  }
  ["pointerdown", "keydown", "input", "change"].forEach(function (name) {
    document.addEventListener(name, touched, { passive: true });
  });
  touched();

  if (start && !start.hidden) {
    startPolling();
  }
})();
