/**
 * The published documents under docs/performance/: for each, its `render` flag, output path,
 * template and view. `render`'s flags and help text are generated from RUN_DOCUMENTS, so a new
 * document is one view module, one template and one entry here.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../paths';
import type { PlansReport } from '../query-plans';
import { renderTemplate, writeDocument } from './render';
import { carrySections, replaceSection } from './sections';
import { acceptanceView } from './views/acceptance';
import { analysisViewOf } from './views/analysis';
import { baselineView } from './views/baseline';
import { broadcastPathViewOf } from './views/broadcast-path';
import { comparisonsView } from './views/comparison';
import { poolSizingViewOf } from './views/pool-sizing';
import { queryPlansView } from './views/query-plans';
import { summaryView, type SummaryInputs } from './views/summary';
import { RUN_REPORT_TEMPLATE } from './views/run-report';

/** A document rendered from `Input` into a committed file. */
export interface Document<Input> {
  /** path relative to the repository root */
  path: string;
  /** file name under templates/ */
  template: string;
  /** the template's view; throws when the input cannot make this document */
  view: (input: Input, generatedAt: string, flag: string) => object;
  /**
   * Set when the document renders one section of the file at `path` (see sections.ts), from
   * other runs than the rest of it; the file must exist and hold the section's markers.
   */
  section?: string;
}

/** A document `render --<flag>` makes from run directories. */
export interface RunDocument extends Document<string[]> {
  /** the `render` flag, without the dashes */
  flag: string;
  /** for the help text: "--<flag> writes <path> <from>" */
  from: string;
}

/** In the order `render` writes them. */
export const RUN_DOCUMENTS: readonly RunDocument[] = [
  {
    flag: 'baseline',
    path: 'docs/performance/baseline-report.md',
    template: RUN_REPORT_TEMPLATE,
    view: baselineView,
    from: 'from the baseline passes of the given runs (e.g. a SQLite and a MySQL run)',
  },
  {
    flag: 'analysis',
    path: 'docs/performance/bottleneck-analysis.md',
    template: 'bottleneck-analysis.md.hbs',
    view: analysisViewOf,
    from: 'from the same',
  },
  {
    flag: 'broadcast-path',
    path: 'docs/performance/bottleneck-analysis.md',
    section: 'broadcast-path',
    template: 'broadcast-path.md.hbs',
    view: broadcastPathViewOf,
    from: '(its Story 9.3 section) from --cpu-prof throughput runs of two relay builds and a connections run',
  },
  {
    flag: 'comparison',
    path: 'docs/performance/optimization-comparison.md',
    template: 'comparisons.md.hbs',
    view: comparisonsView,
    from: 'from --mode both runs',
  },
  {
    flag: 'pool-sizing',
    path: 'docs/performance/pool-sizing.md',
    template: 'pool-sizing.md.hbs',
    view: poolSizingViewOf,
    from: 'from runs that differ in DB_POOL_SIZE',
  },
  {
    flag: 'acceptance',
    path: 'docs/performance/acceptance-report.md',
    template: RUN_REPORT_TEMPLATE,
    view: acceptanceView,
    from: 'from a run of the 1 h acceptance scenario',
  },
];

/** Written by `explain --publish` from its own measurements, not from runs. */
export const QUERY_PLANS_DOCUMENT: Document<PlansReport[]> = {
  path: 'docs/performance/query-plans.md',
  template: 'query-plans.md.hbs',
  view: queryPlansView,
};

/**
 * Written by `render summary` from named inputs (a comparison, the acceptance run, a capacity search,
 * a cluster run), any of which may be missing: the document says which were not given.
 */
export const SUMMARY_DOCUMENT: Document<SummaryInputs> = {
  path: 'docs/performance/optimization-summary.md',
  template: 'optimization-summary.md.hbs',
  view: (inputs, generatedAt) => summaryView(inputs, generatedAt),
};

/** Every document under docs/performance/ that the runner writes (README.md is written by hand). */
export const PUBLISHED_DOCUMENTS: readonly Document<never>[] = [
  ...RUN_DOCUMENTS,
  QUERY_PLANS_DOCUMENT,
  SUMMARY_DOCUMENT,
];

/** The run document with that flag; throws for an unknown one. */
export function runDocument(flag: string): RunDocument {
  const doc = RUN_DOCUMENTS.find((d) => d.flag === flag);
  if (!doc) throw new Error(`no published document has the flag --${flag}`);
  return doc;
}

/**
 * Renders `doc` from `input` into `outFile` (absolute, or relative to the working directory).
 * A section document replaces its section of `outFile` (throws when the file or its markers are
 * missing); a whole document keeps the sections the file it replaces had rendered.
 */
export function renderDocument<Input>(
  doc: Document<Input> & { flag?: string },
  input: Input,
  outFile: string,
): void {
  const view = doc.view(input, new Date().toISOString(), `--${doc.flag ?? ''}`);
  const rendered = renderTemplate(doc.template, view);
  const previous = existsSync(outFile) ? readFileSync(outFile, 'utf8') : undefined;
  if (doc.section) {
    if (previous === undefined) throw new Error(`${outFile} does not exist: render the whole document first`);
    writeDocument(outFile, replaceSection(previous, doc.section, rendered, outFile));
  } else {
    writeDocument(outFile, previous === undefined ? rendered : carrySections(previous, rendered));
  }
}

/** Renders the run document with that flag into its committed path and says so on stdout. */
export function publish(flag: string, runDirs: string[]): void {
  const doc = runDocument(flag);
  renderDocument(doc, runDirs, path.join(REPO_ROOT, doc.path));
  console.log(`Wrote ${doc.path}`);
}
