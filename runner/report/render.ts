/**
 * Handlebars set up for the report templates (templates/*.hbs): helpers that format numbers and
 * verdicts, the partials, and writing a rendered document.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Handlebars from 'handlebars';
import { MIN_TREND_SECONDS } from '../memory-trend';
import { TEMPLATES_DIR } from '../paths';
import type { ScenarioResult } from '../results';

/** A number for a table: '-' when missing, `digits` decimals (default: 0 from 100 up, else 1), en-US grouping. */
export function fmt(value: unknown, digits?: unknown): string {
  if (value === null || value === undefined || (typeof value === 'number' && !Number.isFinite(value)))
    return '-';
  if (typeof value !== 'number') return String(value);
  const d = typeof digits === 'number' ? digits : Math.abs(value) >= 100 ? 0 : 1;
  return value.toLocaleString('en-US', { minimumFractionDigits: 0, maximumFractionDigits: d });
}

export function createRenderer(): typeof Handlebars {
  const hb = Handlebars.create();
  hb.registerHelper('fmt', (v: unknown, d: unknown) => fmt(v, d));
  hb.registerHelper('pct', (v: unknown) => (typeof v === 'number' ? `${fmt(v * 100, 1)}%` : '-'));
  hb.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  hb.registerHelper('verdict', (status: unknown, informational: unknown) =>
    informational
      ? 'info'
      : status === 'passed'
        ? 'PASS'
        : status === 'failed'
          ? 'FAIL'
          : status === 'invalid'
            ? 'INVALID'
            : 'ERROR',
  );
  hb.registerHelper('check', (passed: unknown) => (passed ? 'ok' : 'FAIL'));
  // How the runner launched the relay: .ts entries go through tsx (see relay-process.ts).
  hb.registerHelper('relayCommand', (entry: unknown) =>
    typeof entry !== 'string'
      ? 'node (entry not recorded)'
      : entry.endsWith('.ts')
        ? `node --import tsx ${entry}`
        : `node ${entry}`,
  );
  hb.registerHelper(
    'allPassed',
    (gates: unknown) =>
      Array.isArray(gates) && gates.length > 0 && gates.every((g: { passed: boolean }) => g.passed),
  );
  hb.registerHelper('failedNames', (scenarios: ScenarioResult[]) =>
    scenarios
      .filter((s) => !s.informational && s.status !== 'passed')
      .map((s) => `${s.name} (${s.status})`)
      .join(', '),
  );
  hb.registerHelper('passFail', (passed: unknown) => (passed ? 'PASS' : 'FAIL'));
  // A percentile from histogram buckets; "≥" when it lies above the highest finite bucket.
  hb.registerHelper('q', (obj: unknown, key: unknown, digits: unknown) => {
    if (!obj || typeof obj !== 'object' || typeof key !== 'string') return '-';
    const o = obj as Record<string, unknown>;
    return `${o[`${key}Capped`] ? '≥ ' : ''}${fmt(o[key], digits)}`;
  });
  hb.registerHelper('anyMemory', (scenarios: unknown) =>
    Array.isArray(scenarios) ? scenarios.some((s: ScenarioResult) => s.memory) : false,
  );
  hb.registerHelper('minutes', (seconds: unknown) =>
    typeof seconds === 'number' ? `${fmt(seconds / 60, seconds < 600 ? 1 : 0)} min` : '-',
  );
  hb.registerHelper('minTrendMinutes', () => MIN_TREND_SECONDS / 60);
  hb.registerHelper('settings', (v: unknown) =>
    v === undefined || v === null
      ? 'not recorded (run made before the runner recorded them)'
      : typeof v === 'object' && Object.keys(v).length
        ? Object.entries(v as Record<string, string>)
            .map(([k, val]) => `\`${k}=${val}\``)
            .join(', ')
        : 'none (defaults)',
  );
  // A plain string, so Handlebars HTML-escapes it for the attribute it lands in.
  hb.registerHelper('json', (v: unknown) => JSON.stringify(v));
  hb.registerHelper('raw', (v: unknown) => new hb.SafeString(String(v ?? '')));
  const partials = path.join(TEMPLATES_DIR, 'partials');
  for (const file of existsSync(partials) ? readdirSync(partials) : []) {
    hb.registerPartial(
      file.replace(/\.md\.hbs$|\.hbs$/, ''),
      readFileSync(path.join(partials, file), 'utf8'),
    );
  }
  hb.registerHelper('verbs', (v: unknown) =>
    v && typeof v === 'object' && Object.keys(v).length
      ? Object.entries(v as Record<string, number>)
          .sort((a, b) => b[1] - a[1])
          .map(([verb, n]) => `${verb} ${fmt(n)}`)
          .join(', ')
      : '-',
  );
  // "3.2x" style ratio of two numbers; '-' when either is missing.
  hb.registerHelper('ratio', (a: unknown, b: unknown) =>
    typeof a === 'number' && typeof b === 'number' && b !== 0 ? `${fmt(a / b, a / b >= 10 ? 0 : 1)}x` : '-',
  );
  return hb;
}

/**
 * Renders templates/<name> with `view`. Markdown templates (.md.hbs) are not HTML-escaped;
 * others are. Throws when the template does not exist.
 */
export function renderTemplate(name: string, view: object): string {
  const hb = createRenderer();
  return hb.compile(readFileSync(path.join(TEMPLATES_DIR, name), 'utf8'), {
    noEscape: name.endsWith('.md.hbs'),
  })(view);
}

/** Writes a rendered document, creating its folder. */
export function writeDocument(outFile: string, text: string): void {
  mkdirSync(path.dirname(outFile), { recursive: true });
  writeFileSync(outFile, text);
}
