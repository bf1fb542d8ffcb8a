// The online-over-time chart of a fleet report: one SVG file, no script, readable in any browser.

import type { FleetReport } from "./report.js";

const WIDTH = 800;
const HEIGHT = 320;
const MARGIN = { left: 64, right: 16, top: 36, bottom: 40 };

function escape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** A round step for an axis that spans `span` with about `ticks` ticks. */
function niceStep(span: number, ticks: number): number {
  const raw = Math.max(span / ticks, 1e-9);
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const factor of [1, 2, 5, 10]) if (factor * power >= raw) return factor * power;
  return 10 * power;
}

export function onlineChart(report: FleetReport): string {
  const { stepMs, online } = report.timeline;
  const seconds = Math.max(1, (online.length * stepMs) / 1000);
  const top = Math.max(1, report.rabbits, ...online);
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (s: number) => MARGIN.left + (s / seconds) * plotW;
  const y = (n: number) => MARGIN.top + plotH - (n / top) * plotH;
  const points = online.map((n, i) => `${x(((i + 1) * stepMs) / 1000).toFixed(1)},${y(n).toFixed(1)}`);
  const parts: string[] = [];
  const xStep = niceStep(seconds, 8);
  for (let s = 0; s <= seconds + 1e-9; s += xStep) {
    parts.push(`<line x1="${x(s).toFixed(1)}" y1="${MARGIN.top + plotH}" x2="${x(s).toFixed(1)}" y2="${MARGIN.top}" class="grid"/>`);
    parts.push(`<text x="${x(s).toFixed(1)}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${+s.toFixed(2)}</text>`);
  }
  const yStep = niceStep(top, 5);
  for (let n = 0; n <= top; n += yStep) {
    parts.push(`<line x1="${MARGIN.left}" y1="${y(n).toFixed(1)}" x2="${MARGIN.left + plotW}" y2="${y(n).toFixed(1)}" class="grid"/>`);
    parts.push(`<text x="${MARGIN.left - 6}" y="${(y(n) + 4).toFixed(1)}" text-anchor="end">${n}</text>`);
  }
  const title = `${report.rabbits} rabbits (${report.profile}, ${report.ramp === null ? "all at once" : `${report.ramp}/s`}): ` +
    (report.timeToAllOnlineMs === null ? `${report.online} online at the end` : `all online after ${(report.timeToAllOnlineMs / 1000).toFixed(1)} s`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="11">
<style>.grid{stroke:#ddd;stroke-width:1}text{fill:#333}</style>
<rect width="100%" height="100%" fill="white"/>
<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-size="13">${escape(title)}</text>
${parts.join("\n")}
<line x1="${MARGIN.left}" y1="${y(report.rabbits).toFixed(1)}" x2="${MARGIN.left + plotW}" y2="${y(report.rabbits).toFixed(1)}" stroke="#b44" stroke-dasharray="4 3"/>
<polyline fill="none" stroke="#2a6" stroke-width="2" points="${x(0).toFixed(1)},${y(0).toFixed(1)} ${points.join(" ")}"/>
<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 6}" text-anchor="middle">seconds since the first boot</text>
<text x="14" y="${MARGIN.top + plotH / 2}" text-anchor="middle" transform="rotate(-90 14 ${MARGIN.top + plotH / 2})">rabbits online</text>
</svg>
`;
}
