/* NavTalk Portal, create page: see before you spend. Previews of the chosen photo,
   video or audio (a local file or a link), a sample of each voice, and recording the
   voice in the browser. The page works without this file (upload a file instead). */
(function () {
  "use strict";

  function clock(seconds) {
    seconds = Math.max(0, Math.round(seconds));
    return Math.floor(seconds / 60) + ":" + ("0" + (seconds % 60)).slice(-2);
  }

  /* Create page: show the chosen photo/video/audio (a local file or a link) before it is sent. */
  function initPreviews(root) {
    root.querySelectorAll("[data-preview]").forEach(function (box) {
      var input = document.getElementById(box.getAttribute("data-preview"));
      if (!input) return;
      var media = box.querySelector(".preview__media");
      var error = box.querySelector("[data-preview-error]");
      var empty = box.querySelector("[data-preview-empty]");
      var objectUrl = null;
      // A link's preview keeps its place from the start (an empty stage of fixed height),
      // so nothing below it moves under the pointer when the preview loads.
      var reserved = input.type !== "file";
      if (reserved) box.classList.add("preview--reserved");

      function show(src, isObjectUrl) {
        if (objectUrl) { URL.revokeObjectURL(objectUrl); objectUrl = null; }
        if (isObjectUrl) objectUrl = src;
        error.hidden = true;
        if (empty) empty.hidden = !!src || !reserved;
        media.hidden = !src && reserved;
        if (!src) {
          box.hidden = !reserved;
          media.removeAttribute("src");
          return;
        }
        box.hidden = false;
        if (media.getAttribute("src") !== src) media.src = src;
      }

      media.addEventListener("error", function () {
        if (!media.getAttribute("src")) return;
        if (empty) empty.hidden = true;
        error.hidden = false;
        media.hidden = true;
      });

      if (input.type === "file") {
        var updateFile = function () {
          var file = input.files && input.files[0];
          if (file) show(URL.createObjectURL(file), true); else show("");
        };
        input.addEventListener("change", updateFile);
        updateFile();
      } else {
        var typing = null;
        var updateUrl = function () {
          var value = input.value.trim();
          show(/^https?:\/\/\S+$/i.test(value) ? value : "");
        };
        input.addEventListener("change", updateUrl);
        input.addEventListener("input", function () { clearTimeout(typing); typing = setTimeout(updateUrl, 600); });
        updateUrl();
      }
    });
  }

  /* Voice cards: "Listen" plays the voice's sample in place (without JS it opens the WAV). */
  function initVoiceSamples(root) {
    var playing = null;
    var playingLink = null;

    function label(link, icon, text) {
      link.querySelector("[data-voice-icon]").textContent = icon;
      link.querySelector("[data-voice-label]").textContent = text;
    }

    function stop() {
      if (playing) playing.pause();
      if (playingLink) label(playingLink, "▶", "Listen");
      playing = playingLink = null;
    }

    root.querySelectorAll("[data-voice-sample]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        event.preventDefault();
        var same = playingLink === link;
        stop();
        if (same) return;
        var audio = new Audio(link.href);
        playing = audio;
        playingLink = link;
        label(link, "…", "Loading");
        audio.addEventListener("playing", function () { if (playing === audio) label(link, "■", "Stop"); });
        audio.addEventListener("ended", function () { if (playing === audio) stop(); });
        audio.addEventListener("error", function () {
          if (playing === audio) { playing = playingLink = null; label(link, "▶", "Not available, try again"); }
        });
        audio.play().catch(function () { /* the error event explains */ });
      });
    });
  }

  /* Record the voice in the browser: MediaRecorder -> decode (Web Audio) -> 24 kHz mono
     16-bit WAV -> put into the audio file input, so the form sends it like an upload. */
  var RECORD_MAX_SECONDS = 120;
  var WAV_RATE = 24000;

  function encodeWav(samples, rate) {
    var buffer = new ArrayBuffer(44 + samples.length * 2);
    var view = new DataView(buffer);
    function text(offset, value) {
      for (var i = 0; i < value.length; i++) view.setUint8(offset + i, value.charCodeAt(i));
    }
    text(0, "RIFF");
    view.setUint32(4, 36 + samples.length * 2, true);
    text(8, "WAVE");
    text(12, "fmt ");
    view.setUint32(16, 16, true);        // fmt chunk size
    view.setUint16(20, 1, true);         // PCM
    view.setUint16(22, 1, true);         // mono
    view.setUint32(24, rate, true);
    view.setUint32(28, rate * 2, true);  // bytes per second
    view.setUint16(32, 2, true);         // block align
    view.setUint16(34, 16, true);        // bits per sample
    text(36, "data");
    view.setUint32(40, samples.length * 2, true);
    for (var i = 0, offset = 44; i < samples.length; i++, offset += 2) {
      var sample = Math.max(-1, Math.min(1, samples[i]));
      view.setInt16(offset, sample < 0 ? sample * 0x8000 : sample * 0x7fff, true);
    }
    return new Blob([buffer], { type: "audio/wav" });
  }

  function toWav(blob) {
    var Context = window.AudioContext || window.webkitAudioContext;
    var context = new Context();
    return blob.arrayBuffer()
      .then(function (data) { return context.decodeAudioData(data); })
      .then(function (decoded) {
        context.close();
        var offline = new OfflineAudioContext(1, Math.max(1, Math.ceil(decoded.duration * WAV_RATE)), WAV_RATE);
        var source = offline.createBufferSource();
        source.buffer = decoded;
        source.connect(offline.destination); // mixes down to mono
        source.start();
        return offline.startRendering();
      })
      .then(function (mono) {
        return { blob: encodeWav(mono.getChannelData(0), WAV_RATE), seconds: mono.duration };
      });
  }

  function initRecorder(root) {
    var box = root.querySelector("[data-recorder]");
    if (!box) return;
    var supported = navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.MediaRecorder &&
      (window.AudioContext || window.webkitAudioContext) && window.OfflineAudioContext && window.DataTransfer;
    var input = document.getElementById(box.getAttribute("data-recorder"));
    if (!supported || !input) return;
    box.hidden = false;
    var tab = root.querySelector("[data-record-label]");
    if (tab) tab.textContent = tab.getAttribute("data-record-label");
    var start = box.querySelector("[data-record-start]");
    var stopButton = box.querySelector("[data-record-stop]");
    var status = box.querySelector("[data-record-status]");
    var recorder = null, stream = null, chunks = [], began = 0, ticker = null, limit = null;

    function say(text) { status.textContent = text; }

    start.addEventListener("click", function () {
      start.disabled = true;
      say("Asking for the microphone…");
      navigator.mediaDevices.getUserMedia({ audio: true }).then(function (granted) {
        stream = granted;
        chunks = [];
        recorder = new MediaRecorder(stream);
        recorder.addEventListener("dataavailable", function (event) {
          if (event.data && event.data.size) chunks.push(event.data);
        });
        recorder.addEventListener("stop", finish);
        recorder.start();
        began = Date.now();
        box.classList.add("is-recording");
        stopButton.disabled = false;
        stopButton.focus();
        say("Recording… 0:00");
        ticker = setInterval(function () { say("Recording… " + clock((Date.now() - began) / 1000)); }, 500);
        limit = setTimeout(function () { if (recorder.state === "recording") recorder.stop(); }, RECORD_MAX_SECONDS * 1000);
      }).catch(function (error) {
        start.disabled = false;
        say("The microphone is not available (" + ((error && error.name) || "error") +
            "). Allow it in the browser's address bar, or upload a file.");
      });
    });

    stopButton.addEventListener("click", function () {
      if (recorder && recorder.state === "recording") recorder.stop();
    });

    function finish() {
      clearInterval(ticker);
      clearTimeout(limit);
      stopButton.disabled = true;
      box.classList.remove("is-recording");
      if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
      say("Preparing the recording…");
      toWav(new Blob(chunks, { type: recorder.mimeType || "audio/webm" })).then(function (wav) {
        var file = new File([wav.blob], "recording.wav", { type: "audio/wav" });
        var transfer = new DataTransfer();
        transfer.items.add(file);
        input.files = transfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
        say("Recorded " + clock(wav.seconds) + ". Listen to it below; it is sent as the audio file. Record again to replace it.");
      }).catch(function () {
        say("The recording could not be prepared. Try again, or upload a file.");
      }).then(function () {
        start.disabled = false;
        start.focus();
      });
    }
  }

  function init() {
    initPreviews(document);
    initVoiceSamples(document);
    initRecorder(document);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
