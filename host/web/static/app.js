// The rabbit's page: a snapshot and then changes from the server's event stream (/events), drawn into the SVG and
// the lists; the controls POST to the server with the page's token. Plain JavaScript, no build step, no library.

const LOG_ENTRIES_MAX = 50;
const RECONNECT_MS = 2000;
const LED_NAMES = ["nose", "left", "middle", "right", "base"];
/** Degrees an ear turns per position (0 up, 16 nearly down). */
const EAR_STEP_DEGREES = 10;
const LED_OFF_FILL = "#2b2b2b";

const $ = (id) => document.getElementById(id);
const token = document.querySelector('meta[name="page-token"]').content;
const rabbit = (new URLSearchParams(location.search).get("rabbit") || document.querySelector('meta[name="rabbit"]').content)
  .toLowerCase().replace(/:/g, "");
/** Which server start the page talks to: another one has another token, so the page loads itself again. */
let server = null;
let view = null;
let lab = null;

const time = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
const macText = (mac) => mac.replace(/(..)(?!$)/g, "$1:");

function pushBounded(list, entry) {
  list.push(entry);
  if (list.length > LOG_ENTRIES_MAX) list.shift();
}

function setConnection(connected) {
  const element = $("connection");
  element.dataset.connected = String(connected);
  element.textContent = connected ? "live" : "disconnected (reconnecting…)";
  document.body.classList.toggle("offline", !connected);
}

function renderPhase() {
  const phase = $("phase");
  phase.dataset.phase = view.phase;
  phase.dataset.resource = view.resource;
  phase.textContent = view.phase === "online" ? `online as ${view.resource}` : view.phase;
  $("jid").textContent = view.jid || "—";
  $("status").textContent = `${view.status} / ${view.state}`;
  $("boots").textContent = String(view.boots);
  const asleep = view.phase === "online" && view.resource === "asleep";
  $("rabbit").classList.toggle("asleep", asleep);
  $("rabbit").classList.toggle("away", view.phase !== "online");
  describe();
}

function renderReason() {
  $("reason").textContent = view.reason ? `${view.reason.text} (${time(view.reason.time)})` : "no error so far";
}

function renderLed(index) {
  const rgb = view.leds[index];
  const led = $(`led-${index}`);
  led.dataset.rgb = rgb;
  led.setAttribute("fill", rgb === "#000000" ? LED_OFF_FILL : rgb);
  led.setAttribute("filter", rgb === "#000000" ? "" : "url(#glow)");
  $("leds-text").textContent = view.leds.map((colour, i) => `${LED_NAMES[i]} ${colour === "#000000" ? "off" : colour}`).join(", ");
  describe();
}

function renderEars() {
  for (const side of ["left", "right"]) {
    const position = view.ears[side];
    const ear = $(`ear-${side}`);
    const [x, y] = side === "left" ? [80, 104] : [120, 104];
    ear.dataset.position = String(position);
    ear.setAttribute("transform", `translate(${x} ${y}) rotate(${(side === "left" ? -1 : 1) * position * EAR_STEP_DEGREES})`);
    $(`ear-${side}-label`).textContent = String(position);
    // The inputs follow the ears, unless the user is typing in one.
    const input = $(`ear-${side}-input`);
    if (document.activeElement !== input) input.value = String(position);
  }
  $("ears-text").textContent = `left ${view.ears.left}, right ${view.ears.right}`;
  describe();
}

function describe() {
  if (!view) return;
  const state = view.phase === "online" ? `online as ${view.resource}` : view.phase;
  $("rabbit-description").textContent = `${state}; ears left ${view.ears.left}, right ${view.ears.right}; LEDs ${view.leds.join(" ")}`;
}

/** A list, newest first, as text only (stanzas are never markup here). */
function renderList(id, entries, line) {
  const list = $(id);
  list.replaceChildren(...entries.slice().reverse().map((entry) => {
    const item = document.createElement("li");
    const [text, className] = line(entry);
    item.textContent = text;
    if (className) item.className = className;
    return item;
  }));
}

function renderStanzas() {
  renderList("stanzas", view.stanzas, (s) => [`${time(s.time)} ${s.direction === "out" ? "→ out" : "← in"}  ${s.text}`, s.direction]);
}

function renderHttp() {
  renderList("http", view.http, (c) => [`${time(c.time)} GET ${c.url} ${c.status === undefined ? "…" : c.status < 0 ? `no answer${c.error ? `: ${c.error}` : ""}` : c.status}${c.error && c.status >= 0 ? ` (${c.error})` : ""}`, ""]);
}

function renderLab() {
  $("lab-panel").hidden = !lab;
  if (!lab) return;
  $("lab-platform").textContent = lab.platform;
  $("lab-dialect").textContent = lab.dialect;
  $("lab-online").replaceChildren(...lab.online.map((r) => {
    const row = document.createElement("tr");
    for (const text of [macText(r.mac), r.resource]) row.appendChild(document.createElement("td")).textContent = text;
    return row;
  }));
  const target = $("lab-target");
  const chosen = target.value || rabbit;
  const macs = [...new Set([rabbit, ...lab.online.map((r) => r.mac)])];
  target.replaceChildren(...macs.map((mac) => new Option(macText(mac), mac, false, mac === chosen)));
  renderList("lab-lines", lab.lines, (l) => [`${time(l.time)} ${l.text}`, ""]);
}

function renderAll() {
  $("rabbit-name").textContent = `rabbit ${macText(rabbit)}`;
  if (view) {
    renderPhase();
    renderReason();
    view.leds.forEach((_, index) => renderLed(index));
    renderEars();
    renderStanzas();
    renderHttp();
  } else {
    $("phase").textContent = `no rabbit ${macText(rabbit)} on this page`;
  }
  renderLab();
}

/** One event from the stream. */
function apply(event) {
  if (event.kind === "hello") {
    if (server !== null && server !== event.server) return location.reload();
    server = event.server;
    view = event.rabbits.find((r) => r.rabbit === rabbit) || null;
    lab = event.lab;
    return renderAll();
  }
  if (event.kind === "lab" && lab) {
    lab.online = event.online;
    return renderLab();
  }
  if (event.kind === "lab-line" && lab) {
    pushBounded(lab.lines, { time: event.time, text: event.text });
    return renderLab();
  }
  if (!view || event.rabbit !== rabbit) return;
  applyRabbit(event);
}

function applyRabbit(event) {
  switch (event.kind) {
    case "phase":
      for (const field of ["phase", "resource", "jid", "status", "state", "boots"]) view[field] = event[field];
      return renderPhase();
    case "reason":
      view.reason = { time: event.time, text: event.text };
      return renderReason();
    case "led":
      view.leds[event.index] = event.rgb;
      return renderLed(event.index);
    case "ears":
      view.ears = { left: event.left, right: event.right };
      return renderEars();
    case "nose":
      view.nose = event.value;
      return;
    case "stanza":
      pushBounded(view.stanzas, { time: event.time, direction: event.direction, text: event.text });
      return renderStanzas();
    case "http":
      pushBounded(view.http, { time: event.time, url: event.url });
      return renderHttp();
    case "http-answer": {
      const call = view.http.slice().reverse().find((c) => c.url === event.url && c.status === undefined);
      if (call) Object.assign(call, { status: event.status, error: event.error });
      return renderHttp();
    }
  }
}

function connect() {
  const source = new EventSource(`/events?rabbit=${encodeURIComponent(rabbit)}`);
  source.onopen = () => setConnection(true);
  source.onmessage = (message) => apply(JSON.parse(message.data));
  source.onerror = () => {
    setConnection(false);
    // EventSource retries by itself, unless the server answered with an error (full, restarted without this rabbit).
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
  };
}

/** One action; the answer (or why there is none) in the status line. */
async function post(path, body, what) {
  const result = $("result");
  result.textContent = `${what}…`;
  try {
    const answer = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json", "X-Page-Token": token }, body: JSON.stringify(body) });
    const data = await answer.json().catch(() => ({}));
    result.textContent = answer.ok ? `${what}: done` : `${what}: refused (${answer.status}${data.error ? `: ${data.error}` : ""})`;
  } catch {
    result.textContent = `${what}: not sent, the server is not reachable`;
  }
}

function earInput(id) {
  const value = Number($(id).value);
  return Number.isInteger(value) ? Math.min(16, Math.max(0, value)) : 0;
}

function wireControls() {
  const own = (action) => `/api/rabbits/${rabbit}/${action}`;
  const viaLab = (action) => `/api/lab/rabbits/${$("lab-target").value || rabbit}/${action}`;
  $("click").addEventListener("click", () => post(own("button"), { clicks: 1 }, "click"));
  $("double-click").addEventListener("click", () => post(own("button"), { clicks: 2 }, "double-click"));
  $("turn-ears").addEventListener("click", () => post(own("ears"), { left: earInput("ear-left-input"), right: earInput("ear-right-input") }, "ears"));
  $("lab-ambient").addEventListener("click", () => post(viaLab("ambient"), { left: earInput("ambient-left"), right: earInput("ambient-right"), nose: Number($("ambient-nose").value) }, "ambient through the lab"));
  for (const action of ["sleep", "wake", "reboot"]) {
    $(`lab-${action}`).addEventListener("click", () => post(viaLab(action), {}, `${action} through the lab`));
  }
}

wireControls();
renderAll();
connect();
