/**
 * An SVG chart of latency against load: one panel per scenario, p50 (solid) and p99 (dashed) of
 * tollgate and of the ceiling at each fixed offered load, ending at the saturation point (drawn
 * at the throughput reached). Hand-written SVG: no charting dependency for four lines a panel.
 */
import type { BenchResults, Comparison, ScenarioResult } from './bench-results.js';
import { disturbanceOf, NOISY_OTHER_CPU } from './report.js';

const PANEL_WIDTH = 400;
const PANEL_HEIGHT = 270;
const COLUMNS = 3;
const MARGIN = { left: 58, right: 14, top: 34, bottom: 40 };
const COLORS = { ceiling: '#1f6fb4', tollgate: '#d4412b' } as const;

export function renderLatencyChart(results: BenchResults): string {
  const rows = Math.ceil(results.scenarios.length / COLUMNS);
  const width = PANEL_WIDTH * COLUMNS;
  const height = PANEL_HEIGHT * rows + 70;
  const panels = results.scenarios.map((scenario, index) =>
    renderPanel(
      scenario,
      (index % COLUMNS) * PANEL_WIDTH,
      70 + Math.floor(index / COLUMNS) * PANEL_HEIGHT,
    ),
  );
  const title = `tollgate vs do-nothing gRPC server: latency against load (${results.meta.mode} run, ${results.meta.date.slice(0, 10)}, ${results.meta.host.cpus} CPUs)`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">
<rect width="100%" height="100%" fill="#fff"/>
<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(title)}</text>
${renderLegend(width / 2 - 400, 46)}
${panels.join('\n')}
</svg>
`;
}

function renderLegend(x: number, y: number): string {
  const entries = [
    ['tollgate p50', COLORS.tollgate, ''],
    ['tollgate p99', COLORS.tollgate, '5,3'],
    ['ceiling p50', COLORS.ceiling, ''],
    ['ceiling p99', COLORS.ceiling, '5,3'],
  ] as const;
  const items = entries.map(([label, color, dash], index) => {
    const left = x + index * 130;
    return `<line x1="${left}" y1="${y}" x2="${left + 28}" y2="${y}" stroke="${color}" stroke-width="2" stroke-dasharray="${dash}"/><text x="${left + 34}" y="${y + 4}">${label}</text>`;
  });
  return `${items.join('')}<text x="${x + 4 * 130}" y="${y + 4}" fill="#555">hollow: saturation; ringed: disturbed by other processes</text>`;
}

function renderPanel(scenario: ScenarioResult, left: number, top: number): string {
  const plot = {
    x: left + MARGIN.left,
    y: top + MARGIN.top,
    width: PANEL_WIDTH - MARGIN.left - MARGIN.right,
    height: PANEL_HEIGHT - MARGIN.top - MARGIN.bottom,
  };
  // The fixed loads make the line; saturation is a separate, hollow point at the throughput
  // reached (a closed loop bounds its latency, so joining it to the line would mislead).
  const points = (server: 'ceiling' | 'tollgate', quantile: 'p50Ms' | 'p99Ms') => {
    const atLoads = scenario.loads.map((load) => ({
      x: load.offeredRps,
      y: load[server].latency[quantile],
      saturation: false,
      disturbed: disturbanceOf(load[server]) > NOISY_OTHER_CPU,
    }));
    const saturation = scenario.saturation[server];
    return [
      ...atLoads,
      {
        x: saturation.throughputRps,
        y: saturation.latency[quantile],
        saturation: true,
        disturbed: disturbanceOf(saturation) > NOISY_OTHER_CPU,
      },
    ];
  };
  const series = (['ceiling', 'tollgate'] as const).flatMap((server) =>
    (['p50Ms', 'p99Ms'] as const).map((quantile) => ({
      server,
      quantile,
      points: points(server, quantile),
    })),
  );
  const all = series
    .flatMap((line) => line.points)
    .filter((point) => point.y > 0 && Number.isFinite(point.y));
  const xMax = niceCeiling(Math.max(...all.map((point) => point.x)) * 1.05);
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...all.map((point) => point.y))));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...all.map((point) => point.y))));
  const toX = (value: number) => plot.x + (value / xMax) * plot.width;
  const toY = (value: number) =>
    plot.y +
    plot.height -
    ((Math.log10(value) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plot.height;

  const grid: string[] = [];
  for (let decade = yMin; decade <= yMax * 1.0001; decade *= 10) {
    for (const step of [1, 2, 5]) {
      const value = decade * step;
      if (value > yMax * 1.0001) break;
      const y = toY(value).toFixed(1);
      grid.push(
        `<line x1="${plot.x}" y1="${y}" x2="${plot.x + plot.width}" y2="${y}" stroke="#e3e3e3"/>`,
      );
      grid.push(
        `<text x="${plot.x - 5}" y="${Number(y) + 4}" text-anchor="end">${formatMs(value)}</text>`,
      );
    }
  }
  for (let tick = 0; tick <= 4; tick++) {
    const value = (xMax / 4) * tick;
    const x = toX(value).toFixed(1);
    grid.push(
      `<line x1="${x}" y1="${plot.y}" x2="${x}" y2="${plot.y + plot.height}" stroke="#eee"/>`,
    );
    grid.push(
      `<text x="${x}" y="${plot.y + plot.height + 14}" text-anchor="middle">${Math.round(value).toLocaleString('en')}</text>`,
    );
  }

  const lines = series.map(({ server, quantile, points: linePoints }) => {
    const valid = linePoints.filter((point) => point.y > 0 && Number.isFinite(point.y));
    const path = valid
      .filter((point) => !point.saturation)
      .map((point) => `${toX(point.x).toFixed(1)},${toY(point.y).toFixed(1)}`)
      .join(' ');
    const dash = quantile === 'p99Ms' ? ' stroke-dasharray="5,3"' : '';
    const dots = valid
      .map((point) => {
        const x = toX(point.x).toFixed(1);
        const y = toY(point.y).toFixed(1);
        const fill = point.saturation ? '#fff' : COLORS[server];
        const ring = point.disturbed
          ? `<circle cx="${x}" cy="${y}" r="6" fill="none" stroke="#222" stroke-width="0.8"/>`
          : '';
        return `<circle cx="${x}" cy="${y}" r="3" fill="${fill}" stroke="${COLORS[server]}"/>${ring}`;
      })
      .join('');
    return `<polyline points="${path}" fill="none" stroke="${COLORS[server]}" stroke-width="1.8"${dash}/>${dots}`;
  });

  const saturation: Comparison = scenario.saturation;
  const count = (value: number) => Math.round(value).toLocaleString('en');
  const viaH2load =
    scenario.ceilingViaH2load === undefined
      ? ''
      : ` (h2load: ${count(scenario.ceilingViaH2load.throughputRps)})`;
  const caption = `${scenario.name} (${scenario.transport}): saturation ${count(saturation.tollgate.throughputRps)} vs ${count(saturation.ceiling.throughputRps)}/s${viaH2load}`;
  return `<g>
<text x="${plot.x + plot.width / 2}" y="${top + 20}" text-anchor="middle" font-size="12" font-weight="bold">${escapeXml(caption)}</text>
${grid.join('')}
<rect x="${plot.x}" y="${plot.y}" width="${plot.width}" height="${plot.height}" fill="none" stroke="#999"/>
${lines.join('\n')}
<text x="${plot.x + plot.width / 2}" y="${plot.y + plot.height + 30}" text-anchor="middle" fill="#444">offered load (Checks/s)</text>
<text transform="translate(${left + 14},${plot.y + plot.height / 2}) rotate(-90)" text-anchor="middle" fill="#444">latency (ms, log)</text>
</g>`;
}

function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  const step = [1, 2, 2.5, 5, 10].find((candidate) => candidate * magnitude >= value) ?? 10;
  return step * magnitude;
}

function formatMs(value: number): string {
  return value >= 1 ? String(Math.round(value)) : String(Number(value.toPrecision(1)));
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
