// speechlab AlignmentViewer (anywidget ESM): waveform, log-mel spectrogram, segment tiers,
// an <audio> player and a play-head. Python sends the pixels; this module only draws.
//
// Model traits: title, duration (s), wav (bytes), waveform (float32 min/max pairs),
// spectrogram (uint8, n_mels x n_frames, row 0 = lowest band), spectrogram_shape, fmax,
// tiers ([{name, segments: [{text, start, end}]}]).
// Messages: Python -> JS {event: "play", start, end}; JS -> Python {event: "select", tier, index}.

// Magma-like colour stops for 0..255.
const STOPS = [
  [0, [0, 0, 4]],
  [0.25, [59, 15, 112]],
  [0.5, [140, 41, 129]],
  [0.75, [241, 96, 93]],
  [1, [252, 253, 191]],
];

function colourTable() {
  const table = new Uint8ClampedArray(256 * 3);
  for (let i = 0; i < 256; i++) {
    const x = i / 255;
    let k = 0;
    while (k < STOPS.length - 2 && x > STOPS[k + 1][0]) k++;
    const [x0, c0] = STOPS[k];
    const [x1, c1] = STOPS[k + 1];
    const f = (x - x0) / (x1 - x0);
    for (let c = 0; c < 3; c++) table[i * 3 + c] = c0[c] + f * (c1[c] - c0[c]);
  }
  return table;
}
const COLOURS = colourTable();

function bytesOf(value) {
  if (value instanceof ArrayBuffer) return new Uint8Array(value);
  if (ArrayBuffer.isView(value)) {
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }
  return new Uint8Array(0);
}

function floatsOf(value) {
  const bytes = bytesOf(value);
  return new Float32Array(bytes.slice().buffer, 0, Math.floor(bytes.byteLength / 4));
}

function element(tag, className, parent) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (parent) parent.appendChild(node);
  return node;
}

function seconds(t) {
  return `${(Number.isFinite(t) ? t : 0).toFixed(2)} s`;
}

function render({ model, el }) {
  const root = element("div", "speechlab-viewer", el);
  const header = element("div", "speechlab-header", root);
  const title = element("span", "speechlab-title", header);
  const clock = element("span", "speechlab-clock", header);
  const stage = element("div", "speechlab-stage", root);
  const labels = element("div", "speechlab-labels", stage);
  const lanes = element("div", "speechlab-lanes", stage);
  element("div", "speechlab-label speechlab-wave-label", labels).textContent = "wave";
  const specLabel = element("div", "speechlab-label speechlab-spec-label", labels);
  const wave = element("canvas", "speechlab-wave", lanes);
  const spec = element("canvas", "speechlab-spec", lanes);
  const tierLabels = element("div", "speechlab-tier-labels", labels);
  const tierLanes = element("div", "speechlab-tier-lanes", lanes);
  const cursor = element("div", "speechlab-cursor", lanes);
  const audio = element("audio", "speechlab-audio", root);
  audio.controls = true;
  audio.preload = "auto";
  const status = element("div", "speechlab-status", root);

  let url = null;
  let stopAt = null;
  let frame = 0;

  const duration = () => model.get("duration") || audio.duration || 0;

  function placeCursor() {
    const d = duration();
    const t = audio.currentTime || 0;
    cursor.style.left = `${d > 0 ? Math.min(100, (100 * t) / d) : 0}%`;
    clock.textContent = `${seconds(t)} / ${seconds(d)}`;
  }

  function tick() {
    if (stopAt !== null && audio.currentTime >= stopAt) {
      audio.pause();
      stopAt = null;
    }
    placeCursor();
    frame = audio.paused ? 0 : requestAnimationFrame(tick);
  }

  function startTicking() {
    cancelAnimationFrame(frame);
    frame = requestAnimationFrame(tick);
  }

  function playSpan(start, end) {
    stopAt = end === null || end === undefined ? null : end;
    audio.currentTime = start;
    status.textContent = "";
    audio.play().catch((err) => {
      status.textContent = `Playback blocked by the browser (${err.name}); press play.`;
    });
  }

  function setAudio() {
    if (url) URL.revokeObjectURL(url);
    const wav = bytesOf(model.get("wav"));
    url = wav.byteLength ? URL.createObjectURL(new Blob([wav], { type: "audio/wav" })) : null;
    stopAt = null;
    if (url) audio.src = url;
    else audio.removeAttribute("src");
    placeCursor();
  }

  function drawWave() {
    const env = floatsOf(model.get("waveform"));
    const columns = Math.max(1, env.length / 2);
    wave.width = columns;
    wave.height = 100;
    const ctx = wave.getContext("2d");
    ctx.clearRect(0, 0, wave.width, wave.height);
    ctx.fillStyle = getComputedStyle(wave).color || "#3b6ea8";
    for (let i = 0; i < env.length / 2; i++) {
      const lo = Math.max(-1, Math.min(1, env[2 * i]));
      const hi = Math.max(-1, Math.min(1, env[2 * i + 1]));
      const top = (1 - hi) * 50;
      ctx.fillRect(i, top, 1, Math.max(1, (hi - lo) * 50));
    }
  }

  function drawSpectrogram() {
    const [bands, frames] = model.get("spectrogram_shape") || [0, 0];
    const pixels = bytesOf(model.get("spectrogram"));
    specLabel.textContent = `mel\n≤${Math.round((model.get("fmax") || 0) / 1000)} kHz`;
    if (!bands || !frames || pixels.byteLength < bands * frames) {
      spec.width = spec.height = 1;
      return;
    }
    spec.width = frames;
    spec.height = bands;
    const ctx = spec.getContext("2d");
    const image = ctx.createImageData(frames, bands);
    for (let b = 0; b < bands; b++) {
      const row = (bands - 1 - b) * frames; // low frequencies at the bottom
      for (let f = 0; f < frames; f++) {
        const v = pixels[b * frames + f] * 3;
        const o = (row + f) * 4;
        image.data[o] = COLOURS[v];
        image.data[o + 1] = COLOURS[v + 1];
        image.data[o + 2] = COLOURS[v + 2];
        image.data[o + 3] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
  }

  function drawTiers() {
    tierLabels.replaceChildren();
    tierLanes.replaceChildren();
    const d = duration();
    (model.get("tiers") || []).forEach((tier, t) => {
      const label = element("div", "speechlab-label speechlab-tier-label", tierLabels);
      label.textContent = tier.name;
      const lane = element("div", "speechlab-tier", tierLanes);
      lane.dataset.tier = tier.name;
      tier.segments.forEach((segment, i) => {
        const start = Math.max(0, Math.min(segment.start, d));
        const end = Math.max(start, Math.min(segment.end, d));
        const node = element("div", "speechlab-seg", lane);
        node.textContent = segment.text;
        node.title = `${segment.text}  ${seconds(segment.start)} – ${seconds(segment.end)}`;
        node.dataset.tier = tier.name;
        node.dataset.index = String(i);
        node.dataset.start = String(segment.start);
        node.dataset.end = String(segment.end);
        node.tabIndex = 0;
        node.setAttribute("role", "button");
        node.style.left = `${d > 0 ? (100 * start) / d : 0}%`;
        node.style.width = `${d > 0 ? (100 * (end - start)) / d : 0}%`;
        const choose = () => {
          lanes.querySelectorAll(".speechlab-seg.speechlab-active").forEach((n) => {
            n.classList.remove("speechlab-active");
          });
          node.classList.add("speechlab-active");
          playSpan(start, end);
          model.send({ event: "select", tier: t, index: i });
        };
        node.addEventListener("click", (event) => {
          event.stopPropagation();
          choose();
        });
        node.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            choose();
          }
        });
      });
    });
  }

  function seekFromClick(event) {
    const box = lanes.getBoundingClientRect();
    const f = Math.max(0, Math.min(1, (event.clientX - box.left) / box.width));
    playSpan(f * duration(), null);
  }

  let pending = false;
  function redraw() {
    // several traits change together (one load() in Python): draw once for all of them
    if (pending) return;
    pending = true;
    queueMicrotask(() => {
      pending = false;
      redrawNow();
    });
  }

  function redrawNow() {
    title.textContent = model.get("title") || "";
    drawWave();
    drawSpectrogram();
    drawTiers();
    placeCursor();
  }

  function onMessage(msg) {
    if (msg && msg.event === "play") playSpan(msg.start || 0, msg.end);
  }

  const onWav = () => setAudio();
  wave.addEventListener("click", seekFromClick);
  spec.addEventListener("click", seekFromClick);
  audio.addEventListener("play", startTicking);
  audio.addEventListener("seeked", placeCursor);
  audio.addEventListener("pause", placeCursor);
  audio.addEventListener("loadedmetadata", placeCursor);
  model.on("change:wav", onWav);
  model.on("change:title", redraw);
  model.on("change:waveform", redraw);
  model.on("change:spectrogram", redraw);
  model.on("change:tiers", redraw);
  model.on("msg:custom", onMessage);
  setAudio();
  redrawNow();

  return () => {
    cancelAnimationFrame(frame);
    audio.pause();
    if (url) URL.revokeObjectURL(url);
    model.off("change:wav", onWav);
    model.off("change:title", redraw);
    model.off("change:waveform", redraw);
    model.off("change:spectrogram", redraw);
    model.off("change:tiers", redraw);
    model.off("msg:custom", onMessage);
  };
}

export default { render };
