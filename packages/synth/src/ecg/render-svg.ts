/**
 * An ECG drawn as SVG on the paper a clinician reads it from: 1 mm squares, 25 mm/s, 10 mm/mV,
 * one row per lead. For looking at what the generators make (the tests write one to
 * test-results/).
 */
import { type Ecg } from '@lantern/formats';

/** Renders every lead of an ECG (in microvolts or millivolts) as one SVG document. */
export function renderEcgSvg(ecg: Ecg, options: { title?: string } = {}): string {
  const mmPerSecond = 25;
  const mmPerMv = 10;
  const rowMm = 22;
  const marginMm = 14;
  const widthMm = marginMm + ecg.duration * mmPerSecond + 4;
  const heightMm = 10 + rowMm * ecg.leads.length;
  const toMv = ecg.units === 'mV' ? 1 : ecg.units === 'V' ? 1000 : 0.001;
  const grid: string[] = [];
  for (let x = 0; x <= widthMm; x += 1) {
    const major = x % 5 === 0;
    grid.push(
      `<line x1="${x}" y1="0" x2="${x}" y2="${heightMm}" stroke="${major ? '#f2a0a0' : '#fbdede'}" stroke-width="${major ? 0.2 : 0.1}"/>`,
    );
  }
  for (let y = 0; y <= heightMm; y += 1) {
    const major = y % 5 === 0;
    grid.push(
      `<line x1="0" y1="${y}" x2="${widthMm}" y2="${y}" stroke="${major ? '#f2a0a0' : '#fbdede'}" stroke-width="${major ? 0.2 : 0.1}"/>`,
    );
  }
  const traces = ecg.leads.map((lead, row) => {
    const baseline = 10 + rowMm * row + rowMm / 2;
    const samples = ecg.samples[row] ?? new Float32Array();
    const points: string[] = [];
    for (let n = 0; n < ecg.sampleCount; n++) {
      const x = marginMm + (n / ecg.samplingRate) * mmPerSecond;
      const y = baseline - (samples[n] ?? 0) * toMv * mmPerMv;
      points.push(`${x.toFixed(2)},${y.toFixed(2)}`);
    }
    return [
      `<text x="1" y="${baseline - 2}" font-size="4" font-family="sans-serif">${escape(lead)}</text>`,
      // The 1 mV calibration pulse.
      `<path d="M4 ${baseline} h2 v-10 h5 v10 h2" fill="none" stroke="#000" stroke-width="0.25"/>`,
      `<polyline points="${points.join(' ')}" fill="none" stroke="#000" stroke-width="0.25"/>`,
    ].join('\n');
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${widthMm * 4}" height="${heightMm * 4}" viewBox="0 0 ${widthMm} ${heightMm}">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    ...grid,
    options.title === undefined
      ? ''
      : `<text x="${marginMm}" y="6" font-size="4" font-family="sans-serif">${escape(options.title)}</text>`,
    ...traces,
    '</svg>',
    '',
  ].join('\n');
}

function escape(text: string): string {
  return text.replace(/[<>&"]/gu, (char) => `&#${char.codePointAt(0) ?? 63};`);
}
