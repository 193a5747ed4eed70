/* NavTalk Portal: small progressive enhancements. Every page works without this file. */
(function () {
  "use strict";

  /* Radio groups that show only the chosen option's inputs (all are shown without JS). */
  function initChoiceGroups(root) {
    root.querySelectorAll("[data-choice-group]").forEach(function (group) {
      var name = group.getAttribute("data-choice-group");
      var radios = group.querySelectorAll('input[type=radio][name="' + name + '"]');
      function update() {
        var chosen = group.querySelector('input[type=radio][name="' + name + '"]:checked');
        group.querySelectorAll(":scope > [data-panel]").forEach(function (panel) {
          panel.hidden = !chosen || panel.getAttribute("data-panel") !== chosen.value;
        });
      }
      radios.forEach(function (radio) { radio.addEventListener("change", update); });
      update();
    });
  }

  /* Sliders: keep the <output> beside each one current. */
  function initRanges(root) {
    root.querySelectorAll("[data-range-output]").forEach(function (output) {
      var input = document.getElementById(output.getAttribute("data-range-output"));
      if (!input) return;
      var show = function () { output.value = input.value; output.textContent = input.value; };
      input.addEventListener("input", show);
      show();
    });
    var reset = root.querySelector("[data-reset-advanced]");
    if (reset) {
      reset.hidden = false;
      reset.addEventListener("click", function () {
        reset.closest("details").querySelectorAll("input[type=range]").forEach(function (input) {
          if (input.hasAttribute("data-default")) input.value = input.getAttribute("data-default");
          input.dispatchEvent(new Event("input"));
        });
        var jaw = reset.closest("details").querySelector('input[name=parsing_mode][value=jaw]');
        if (jaw) jaw.checked = true;
      });
    }
  }

  /* "Will send: Photo + audio link", following the two radios. */
  function initSummary(root) {
    var target = root.querySelector("#method-summary");
    var data = root.querySelector("#method-labels");
    if (!target || !data) return;
    var labels = JSON.parse(data.textContent);
    function update() {
      var v = root.querySelector("input[name=visual_source]:checked");
      var a = root.querySelector("input[name=audio_source]:checked");
      var label = v && a ? labels[v.value + ":" + a.value] : null;
      target.textContent = label || "Choose a face and a voice.";
    }
    root.querySelectorAll("input[name=visual_source], input[name=audio_source]").forEach(function (radio) {
      radio.addEventListener("change", update);
    });
    update();
  }

  /* Character counter under the text box: warns near the limit and says by how much the
     text is over it (nothing is ever cut: the server refuses, beside the field). */
  function initCounters(root) {
    root.querySelectorAll("[data-counter-for]").forEach(function (counter) {
      var input = document.getElementById(counter.getAttribute("data-counter-for"));
      if (!input) return;
      var count = counter.querySelector("[data-count]");
      var over = counter.querySelector("[data-over]");
      var limit = parseInt(input.getAttribute("data-max-chars"), 10) || 0;
      var update = function () {
        var length = input.value.length;
        count.textContent = length.toLocaleString();
        counter.classList.toggle("counter--near", limit > 0 && length > 0.9 * limit && length <= limit);
        counter.classList.toggle("counter--over", limit > 0 && length > limit);
        if (over) {
          over.hidden = !(limit > 0 && length > limit);
          over.textContent = over.hidden ? "" : " — " + (length - limit).toLocaleString() +
            " over the limit: shorten the text or split it into several videos.";
        }
      };
      counter.hidden = false;
      input.addEventListener("input", update);
      update();
    });
  }

  /* Team switcher: switch as soon as a team is picked. */
  function initAutosubmit(root) {
    root.querySelectorAll("form[data-autosubmit]").forEach(function (form) {
      var button = form.querySelector("[data-autosubmit-button]");
      if (button) button.classList.add("visually-hidden");
      form.querySelectorAll("select").forEach(function (select) {
        select.addEventListener("change", function () { form.submit(); });
      });
    });
  }

  /* The one live-update loop: GET url() every delay() ms while active() says there is
     something in flight, paused while the tab is hidden (resumed at once when it shows
     again), one request at a time, and apply(html) with each answer. Errors are kept
     quiet: the next round may succeed. Used by the job page and by the lists. */
  function livePoller(options) {
    var timer = null;
    var busy = false;

    function schedule() {
      clearTimeout(timer);
      if (options.active()) timer = setTimeout(poll, options.delay());
    }

    function poll() {
      if (busy || !options.active()) return;
      if (document.hidden) return; // resumed by visibilitychange
      busy = true;
      var request = options.url();
      fetch(request, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (html) { options.apply(html, request); })
        .catch(function () { /* keep trying; the next round may succeed */ })
        .then(function () { busy = false; schedule(); });
    }

    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && options.active()) { clearTimeout(timer); poll(); }
    });
    schedule();
  }

  /* Job page: the status fragment every 2 s while the job is in flight (5 s while only
     its archive is being made, or while it awaits a team admin's approval), stopped once
     it is done, failed, canceled or rejected. Only the [data-part] blocks that changed are
     replaced, so the aria-live status line stays put; the inputs' heading follows
     ("What will be sent" until it is sent). */
  function initStatusPoller() {
    var live = document.querySelector("[data-status-url]");
    if (!live) return;
    var fragment = live.querySelector("[data-fragment]");
    if (!fragment) return;
    livePoller({
      url: function () { return live.getAttribute("data-status-url"); },
      active: function () { return fragment.getAttribute("data-in-flight") === "true"; },
      delay: function () {
        return fragment.getAttribute("data-terminal") === "true" ||
          fragment.getAttribute("data-waiting") === "true" ? 5000 : 2000;
      },
      apply: function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var next = doc.querySelector("[data-fragment]");
        if (!next) return;
        next.querySelectorAll("[data-part]").forEach(function (part) {
          var current = fragment.querySelector('[data-part="' + part.getAttribute("data-part") + '"]');
          if (!current || current.innerHTML === part.innerHTML || isPlaying(current)) return;
          current.innerHTML = part.innerHTML;
          revealCopyButtons(current);
        });
        refreshNotificationLink(doc);
        var heading = doc.querySelector("[data-inputs-heading]");
        var shown = document.querySelector("[data-inputs-heading]");
        if (heading && shown && shown.textContent !== heading.textContent) shown.textContent = heading.textContent;
        fragment.setAttribute("data-in-flight", next.getAttribute("data-in-flight"));
        fragment.setAttribute("data-terminal", next.getAttribute("data-terminal"));
        fragment.setAttribute("data-waiting", next.getAttribute("data-waiting") || "false");
      },
    });
  }

  /* A video someone is watching is never swapped out from under them. */
  function isPlaying(element) {
    var media = element.querySelector("video, audio");
    return !!(media && !media.paused && !media.ended);
  }

  /* Live answers carry the header's notification link: show its new count. */
  function refreshNotificationLink(doc) {
    var next = doc.querySelector("[data-notif-link]");
    var current = document.querySelector("[data-notif-link]");
    if (next && current && next.outerHTML !== current.outerHTML) current.replaceWith(document.importNode(next, true));
  }

  function announce(text) {
    var region = document.getElementById("announcer");
    if (!region) return;
    region.textContent = "";
    setTimeout(function () { region.textContent = text; }, 50);
  }

  /* History rows and gallery cards: one request refreshes every job still in flight on
     the page (GET data-live-url&job=…&job=…), every 2 s, stopped when none is left. Each
     returned fragment replaces its element. */
  function initListPollers() {
    document.querySelectorAll("[data-live-url]").forEach(function (list) {
      var base = list.getAttribute("data-live-url");

      function pending() {
        return Array.prototype.map.call(list.querySelectorAll('[data-live-job][data-in-flight="true"]'),
          function (element) { return element.getAttribute("data-live-job"); });
      }

      livePoller({
        url: function () {
          return base + (base.indexOf("?") >= 0 ? "&" : "?") +
            pending().map(function (code) { return "job=" + encodeURIComponent(code); }).join("&");
        },
        active: function () { return pending().length > 0; },
        delay: function () { return 2000; },
        apply: function (html, request) {
          var codes = new URL(request, location.href).searchParams.getAll("job");
          var doc = new DOMParser().parseFromString(html, "text/html");
          refreshNotificationLink(doc);
          codes.forEach(function (code) {
            var selector = '[data-live-job="' + code + '"]';
            var current = list.querySelector(selector);
            var next = doc.querySelector(selector);
            if (!current) return;
            if (!next) { current.setAttribute("data-in-flight", "false"); return; } // gone: stop asking
            if (current.outerHTML === next.outerHTML || isPlaying(current)) return;
            var finished = next.getAttribute("data-in-flight") !== "true";
            var replacement = document.importNode(next, true);
            current.replaceWith(replacement);
            revealCopyButtons(replacement);
            if (finished) {
              var badge = replacement.querySelector(".badge");
              announce("“" + replacement.getAttribute("data-live-title") + "”: " + (badge ? badge.textContent : "updated") + ".");
            }
          });
        },
      });
    });
  }

  /* "Copy share link": the job's page (login and team membership required to open it). */
  function revealCopyButtons(root) {
    root.querySelectorAll("[data-copy-link], [data-play]").forEach(function (button) { button.hidden = false; });
    // One set of controls: the big play button until the video plays, then the video's own.
    root.querySelectorAll("[data-play]").forEach(function (button) {
      var video = button.parentElement.querySelector("video");
      if (video && video.paused) video.controls = false;
    });
  }

  /* Gallery: a big play button over the poster (the video's own controls work too). */
  function initPlayButtons() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-play]");
      if (!button) return;
      var video = button.parentElement.querySelector("video");
      if (!video) return;
      button.hidden = true;
      video.controls = true;
      video.addEventListener("play", function () { button.hidden = true; });
      video.play().catch(function () { button.hidden = false; video.controls = false; });
      video.focus();
    });
    document.addEventListener("play", function (event) {
      var button = event.target.parentElement && event.target.parentElement.querySelector("[data-play]");
      if (button) { button.hidden = true; event.target.controls = true; }
    }, true);
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.style.position = "fixed";
      area.style.opacity = "0";
      document.body.appendChild(area);
      area.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      area.remove();
      if (ok) resolve(); else reject(new Error("copy refused"));
    });
  }

  function initCopyLinks() {
    revealCopyButtons(document);
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-copy-link]");
      if (!button) return;
      var url = new URL(button.getAttribute("data-copy-link"), window.location.href).href;
      copyText(url).then(function () {
        if (!button.hasAttribute("data-label")) button.setAttribute("data-label", button.innerHTML);
        button.textContent = "✓ Link copied";
        button.classList.add("is-copied");
        announce("Share link copied. Only people in your team can open it.");
        clearTimeout(button._copyTimer);
        button._copyTimer = setTimeout(function () {
          button.innerHTML = button.getAttribute("data-label");
          button.classList.remove("is-copied");
        }, 2500);
      }, function () {
        window.prompt("Copy this link (only people in your team can open it):", url);
      });
    });
  }

  /* A form sent back with errors: move to the first field that needs attention (clear of
     the sticky submit bar, by its scroll-margin), focus it, and say what is wrong. */
  function focusFirstError() {
    var errors = Array.prototype.filter.call(document.querySelectorAll("form .field-error"),
      function (el) { return el.offsetParent !== null; });
    var error = errors[0];
    if (!error) return;
    var holder = error.closest(".field, fieldset") || error.parentElement;
    var visible = function (el) { return el.offsetParent !== null && !el.disabled && el.type !== "hidden"; };
    var control = Array.prototype.find.call(
      holder.querySelectorAll("input, select, textarea"), visible) || holder;
    if (control === holder && !holder.hasAttribute("tabindex")) holder.setAttribute("tabindex", "-1");
    holder.classList.add("has-first-error");
    control.focus({ preventScroll: true });
    holder.scrollIntoView({ block: "center" });
    announce((errors.length > 1 ? errors.length + " fields need attention. First: " : "") +
      error.textContent.trim());
  }

  /* A card whose video has no archived copy (so no stored length) shows the length the
     browser reads from the video itself. */
  function initLengths(root) {
    root.querySelectorAll("[data-length-from-video]").forEach(function (slot) {
      var card = slot.closest("[data-live-job]");
      var video = card && card.querySelector("video");
      if (!video) return;
      var show = function () {
        if (!isFinite(video.duration) || video.duration <= 0) return;
        var seconds = Math.max(1, Math.floor(video.duration));
        slot.querySelector("span").textContent = Math.floor(seconds / 60) + ":" + ("0" + (seconds % 60)).slice(-2);
        slot.hidden = false;
      };
      if (video.readyState >= 1) show(); else video.addEventListener("loadedmetadata", show);
    });
  }

  function init() {
    initChoiceGroups(document);
    initLengths(document);
    initRanges(document);
    initSummary(document);
    initCounters(document);
    initAutosubmit(document);
    focusFirstError();
    initStatusPoller();
    initListPollers();
    initCopyLinks();
    initPlayButtons();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
