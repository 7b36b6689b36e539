// speechlab CopyButton (anywidget ESM): a button that copies the model's `text` to the clipboard.
// Uses the async Clipboard API (secure contexts) and falls back to a hidden <textarea>.

function fallbackCopy(text) {
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("the browser refused to copy");
}

async function copy(text) {
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return;
    } catch (err) {
      console.debug("speechlab: clipboard API failed, using the fallback", err);
    }
  }
  fallbackCopy(text);
}

function render({ model, el }) {
  const button = document.createElement("button");
  button.className = "speechlab-copy jupyter-button";
  button.type = "button";
  el.appendChild(button);
  let timer = 0;

  const reset = () => {
    button.textContent = model.get("label");
    button.disabled = !model.get("text");
  };
  const flash = (message) => {
    button.textContent = message;
    clearTimeout(timer);
    timer = setTimeout(reset, 1200);
  };

  button.addEventListener("click", async () => {
    const text = model.get("text");
    try {
      await copy(text);
      flash("Copied");
      model.send({ event: "copied", text });
    } catch (err) {
      flash("Copy failed");
      model.send({ event: "copy-failed", error: String(err) });
    }
  });
  model.on("change:text", reset);
  model.on("change:label", reset);
  reset();
  return () => {
    clearTimeout(timer);
    model.off("change:text", reset);
    model.off("change:label", reset);
  };
}

export default { render };
