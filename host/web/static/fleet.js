// The fleet's page: a snapshot and then one event per step from the server's event stream (/events): the counts,
// the counts by state, and the online-over-time chart. Plain JavaScript, no build step, no library.

const RECONNECT_MS = 2000;
const CHART = { left: 48, right: 630, top: 10, bottom: 230 };
/** Points kept for the chart (the server's timeline is bounded the same way). */
const POINTS_MAX = 4800;

const $ = (id) => document.getElementById(id);
let server = null;
let fleet = null;
let points = [];

function setConnection(connected) {
  const element = $("connection");
  element.dataset.connected = String(connected);
  element.textContent = connected ? "live" : "disconnected (reconnecting…)";
  document.body.classList.toggle("offline", !connected);
}

function renderCounts(sample) {
  $("count-rabbits").textContent = String(fleet.rabbits);
  $("count-started").textContent = String(sample.started);
  $("count-online").textContent = String(sample.online);
  $("count-retrying").textContent = String(sample.retrying);
  $("count-logins").textContent = String(sample.loginsPerSecond);
  $("count-seconds").textContent = `${sample.seconds.toFixed(1)} s`;
  const body = $("statuses").tBodies[0];
  body.replaceChildren(...Object.entries(sample.statuses).filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]).map(([name, n]) => {
    const row = document.createElement("tr");
    row.dataset.state = name;
    const state = document.createElement("th");
    state.scope = "row";
    state.textContent = name;
    const count = document.createElement("td");
    count.textContent = String(n);
    row.append(state, count);
    return row;
  }));
}

function renderChart() {
  const top = Math.max(1, fleet.rabbits);
  const seconds = Math.max(1, points.length ? points[points.length - 1][0] : 1);
  const x = (s) => CHART.left + (s / seconds) * (CHART.right - CHART.left);
  const y = (n) => CHART.bottom - (n / top) * (CHART.bottom - CHART.top);
  $("chart-line").setAttribute("points", points.map(([s, n]) => `${x(s).toFixed(1)},${y(n).toFixed(1)}`).join(" "));
  $("chart-top").textContent = String(top);
  $("chart-end").textContent = `${seconds.toFixed(0)} s`;
  const last = points.length ? points[points.length - 1][1] : 0;
  $("chart-description").textContent = `${last} of ${fleet.rabbits} rabbits online after ${seconds.toFixed(1)} s.`;
}

function hello(event) {
  if (server !== null && event.server !== server) {
    location.reload();
    return;
  }
  server = event.server;
  fleet = event.fleet;
  $("fleet-title").textContent = fleet.title;
  const step = fleet.timeline.stepMs / 1000;
  points = fleet.timeline.online.map((n, i) => [(i + 1) * step, n]);
  renderCounts(fleet);
  renderChart();
  showSummary(fleet.summary);
}

function step(sample) {
  points.push([sample.seconds, sample.online]);
  if (points.length > POINTS_MAX) points = points.filter((_, i) => i % 2 === 1);
  renderCounts(sample);
  renderChart();
}

function showSummary(text) {
  $("summary").hidden = !text;
  $("summary").textContent = text || "";
}

function connect() {
  const source = new EventSource("/events");
  source.onopen = () => setConnection(true);
  source.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (event.kind === "hello") hello(event);
    else if (event.kind === "fleet" && fleet) step(event);
    else if (event.kind === "fleet-done") showSummary(event.summary);
  };
  source.onerror = () => {
    setConnection(false);
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, RECONNECT_MS);
  };
}

connect();
