// speechlab Recorder (anywidget ESM): the microphone in the browser, frames to the kernel,
// the live transcript back.
//
// getUserMedia -> AudioContext (16 kHz where the browser allows it) -> an AudioWorklet (its
// code below, loaded from a Blob URL: no extra file) that mixes to mono and cuts 40 ms frames
// of int16 PCM -> model.send({event: "audio", seq, dtype, sample_rate}, undefined, [buffer]).
//
// Model traits: state (idle | recording | finishing | stopped | error), message, final_text,
// stable_text, unstable_text, max_seconds, live.
// Messages: JS -> Python {event: "start", sample_rate, device}, {event: "audio", ...} + one
// buffer, {event: "stop"}, {event: "error", name, message}; Python -> JS {event: "stop"}.

const FRAME_SECONDS = 0.04;
const ISSUE = "https://github.com/microsoft/vscode/issues/119127";

const WORKLET = `
class SpeechlabCapture extends AudioWorkletProcessor {
  constructor(options) {
    super();
    this.frame = new Float32Array(options.processorOptions.frame);
    this.filled = 0;
    this.peak = 0;
    this.running = true;
    this.port.onmessage = (e) => {
      if (e.data === "stop") {
        this.flush();
        this.running = false;
        this.port.postMessage({ done: true });
      }
    };
  }
  process(inputs) {
    if (!this.running) return false;
    const input = inputs[0];
    if (input && input.length) {
      const channels = input.length;
      for (let i = 0; i < input[0].length; i++) {
        let s = 0;
        for (let c = 0; c < channels; c++) s += input[c][i];
        s /= channels;
        this.frame[this.filled++] = s;
        const a = Math.abs(s);
        if (a > this.peak) this.peak = a;
        if (this.filled === this.frame.length) this.flush();
      }
    }
    return true;
  }
  flush() {
    if (!this.filled) return;
    const pcm = new Int16Array(this.filled);
    for (let i = 0; i < this.filled; i++) {
      const s = Math.max(-1, Math.min(1, this.frame[i]));
      pcm[i] = s < 0 ? s * 32768 : s * 32767;
    }
    this.port.postMessage({ pcm: pcm.buffer, peak: this.peak }, [pcm.buffer]);
    this.filled = 0;
    this.peak = 0;
  }
}
registerProcessor("speechlab-capture", SpeechlabCapture);
`;

function element(tag, className, parent, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  if (parent) parent.appendChild(node);
  return node;
}

function clock(seconds) {
  const s = Math.floor(seconds);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}.${Math.floor((seconds % 1) * 10)}`;
}

function inVsCode() {
  return typeof acquireVsCodeApi === "function" || /vscode/i.test(navigator.userAgent);
}

// The message shown for a failure to open the microphone: what happened and what to do.
function explain(err) {
  const name = (err && err.name) || "Error";
  if (inVsCode()) {
    return (
      "VS Code notebooks cannot use the microphone: their webviews deny it (microsoft/vscode#119127, " +
      `${ISSUE}). Open this notebook in JupyterLab in a browser (jupyter lab) to record.`
    );
  }
  if (name === "InsecureContext") {
    return (
      `The microphone only works in a secure context, and ${location.origin} is not one. ` +
      "Open JupyterLab over https, or at http://localhost or http://127.0.0.1."
    );
  }
  if (name === "NotAllowedError" || name === "SecurityError") {
    return (
      "The browser denied the microphone. Allow it for this page (the microphone icon in " +
      "the address bar, or the site settings) and press Record again."
    );
  }
  if (name === "NotFoundError" || name === "OverconstrainedError") {
    return (
      "No audio input device was found. Connect a microphone (or pick another one in the " +
      "list) and press Record again."
    );
  }
  if (name === "NotReadableError") {
    return (
      "The microphone could not be read: another application may be using it, or the " +
      "system blocked it. Close that application and press Record again."
    );
  }
  return `Recording failed (${name}: ${(err && err.message) || err}).`;
}

function render({ model, el }) {
  const root = element("div", "speechlab-recorder", el);
  const bar = element("div", "speechlab-rec-bar", root);
  const button = element("button", "speechlab-rec-button", bar, "● Record");
  const time = element("span", "speechlab-rec-time", bar, clock(0));
  const meter = element("div", "speechlab-rec-meter", bar);
  const level = element("div", "speechlab-rec-level", meter);
  const devices = element("select", "speechlab-rec-devices", bar);
  devices.title = "Input device";
  const message = element("div", "speechlab-rec-message", root);
  const text = element("div", "speechlab-rec-text", root);
  const finals = element("span", "speechlab-rec-final", text);
  const stable = element("span", "speechlab-rec-stable", text);
  const unstable = element("span", "speechlab-rec-unstable", text);

  let session = null; // {stream, context, node, sent, rate, finishing}
  let localError = "";

  function showMessage() {
    const text = localError || model.get("message");
    message.textContent = text;
    message.classList.toggle("speechlab-rec-error", Boolean(localError));
    message.style.display = text ? "" : "none";
  }

  function showText() {
    finals.textContent = model.get("final_text");
    const s = model.get("stable_text");
    const u = model.get("unstable_text");
    stable.textContent = (finals.textContent && s ? " " : "") + s;
    unstable.textContent = ((finals.textContent || s) && u ? " " : "") + u;
    text.style.display = model.get("live") ? "" : "none";
  }

  function showState() {
    const state = model.get("state");
    root.dataset.state = session ? "recording" : state;
    button.textContent = session ? "■ Stop" : "● Record";
    button.disabled = state === "finishing" && !session;
    devices.disabled = Boolean(session);
  }

  function fail(err) {
    localError = explain(err);
    root.dataset.error = (err && err.name) || "Error";
    showMessage();
    model.send({ event: "error", name: (err && err.name) || "Error", message: localError });
  }

  async function listDevices() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return;
    let found;
    try {
      found = await navigator.mediaDevices.enumerateDevices();
    } catch (err) {
      console.debug("speechlab: enumerateDevices failed", err);
      return;
    }
    const inputs = found.filter((d) => d.kind === "audioinput");
    const chosen = devices.value;
    devices.replaceChildren();
    const fallback = element("option", "", devices, "default input");
    fallback.value = "";
    inputs.forEach((d, i) => {
      if (!d.deviceId || d.deviceId === "default") return;
      const option = element("option", "", devices, d.label || `microphone ${i + 1}`);
      option.value = d.deviceId;
    });
    if ([...devices.options].some((o) => o.value === chosen)) devices.value = chosen;
  }

  function onFrame(event) {
    const data = event.data;
    if (!session) return;
    if (data.done) {
      finishStop();
      return;
    }
    const seq = session.sent++;
    model.send(
      { event: "audio", seq, dtype: "int16", sample_rate: session.rate },
      undefined,
      [data.pcm],
    );
    session.seconds += data.pcm.byteLength / 2 / session.rate;
    time.textContent = clock(session.seconds);
    const db = data.peak > 0 ? 20 * Math.log10(data.peak) : -60;
    level.style.width = `${Math.max(0, Math.min(100, ((db + 60) / 60) * 100))}%`;
    if (session.seconds >= model.get("max_seconds")) stop();
  }

  function openContext(stream) {
    // 16 kHz straight from the browser where it can; else the device rate (Python resamples).
    let context;
    try {
      context = new AudioContext({ sampleRate: 16000 });
      return [context, context.createMediaStreamSource(stream)];
    } catch (err) {
      if (context) context.close();
      console.debug("speechlab: no 16 kHz AudioContext here, using the device rate", err);
      const context = new AudioContext();
      return [context, context.createMediaStreamSource(stream)];
    }
  }

  async function start() {
    localError = "";
    delete root.dataset.error;
    showMessage();
    if (!window.isSecureContext || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      fail({ name: inVsCode() ? "VsCodeWebview" : "InsecureContext", message: "no mediaDevices" });
      return;
    }
    let stream;
    try {
      const audio = {
        channelCount: 1,
        echoCancellation: false,
        noiseSuppression: false,
        autoGainControl: false,
      };
      if (devices.value) audio.deviceId = { exact: devices.value };
      stream = await navigator.mediaDevices.getUserMedia({ audio });
    } catch (err) {
      fail(err);
      return;
    }
    try {
      const [context, source] = openContext(stream);
      const url = URL.createObjectURL(new Blob([WORKLET], { type: "application/javascript" }));
      try {
        await context.audioWorklet.addModule(url);
      } finally {
        URL.revokeObjectURL(url);
      }
      const node = new AudioWorkletNode(context, "speechlab-capture", {
        numberOfOutputs: 1,
        processorOptions: { frame: Math.round(context.sampleRate * FRAME_SECONDS) },
      });
      const mute = context.createGain();
      mute.gain.value = 0; // the node must reach the destination to run; it plays nothing
      source.connect(node).connect(mute).connect(context.destination);
      await context.resume();
      session = { stream, context, node, sent: 0, seconds: 0, rate: context.sampleRate };
      node.port.onmessage = onFrame;
      const label = stream.getAudioTracks()[0]?.label || "";
      model.send({ event: "start", sample_rate: session.rate, device: label });
      listDevices(); // labels are readable once permission is granted
    } catch (err) {
      stream.getTracks().forEach((track) => track.stop());
      fail(err);
      return;
    }
    showState();
  }

  function stop() {
    if (!session || session.finishing) return;
    session.finishing = true;
    session.stream.getTracks().forEach((track) => track.stop());
    session.node.port.postMessage("stop"); // the worklet sends its last frame, then "done"
    session.timer = setTimeout(finishStop, 1000);
  }

  function finishStop() {
    if (!session) return;
    const { context, timer } = session;
    clearTimeout(timer);
    session = null;
    context.close();
    level.style.width = "0%";
    model.send({ event: "stop" });
    showState();
  }

  button.addEventListener("click", () => (session ? stop() : start()));
  const onMessage = (msg) => {
    if (msg && msg.event === "stop") stop();
  };
  model.on("msg:custom", onMessage);
  model.on("change:state", showState);
  model.on("change:message", showMessage);
  model.on("change:final_text", showText);
  model.on("change:stable_text", showText);
  model.on("change:unstable_text", showText);
  model.on("change:live", showText);
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", listDevices);
  }
  if (inVsCode()) {
    localError = explain({ name: "VsCodeWebview" });
    root.dataset.error = "VsCodeWebview";
  }
  listDevices();
  showState();
  showMessage();
  showText();

  return () => {
    model.off("msg:custom", onMessage);
    if (navigator.mediaDevices && navigator.mediaDevices.removeEventListener) {
      navigator.mediaDevices.removeEventListener("devicechange", listDevices);
    }
    if (session) stop();
  };
}

export default { render };
