/** Loading saved runs: a pass directory's run.json, with its derived figures recomputed from the saved raw data. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ProfileSummary } from '../cpu-profile';
import { memoryTrend } from '../memory-trend';
import type { RunMeta } from '../metadata';
import type { SlowLogResult } from '../mysql-slow-log';
import { passFiles } from '../paths';
import { scenarioRelayFigures } from '../relay-metrics';
import type { ScenarioResult } from '../results';

/** run.json of one pass, as the runner writes it. */
export interface RunFile {
  meta: RunMeta;
  passed: boolean;
  scenarios: ScenarioResult[];
  cpuProfile?: { file: string; summary: ProfileSummary } | null;
  slowLog?: SlowLogResult | null;
}

/**
 * Reads `<passDir>/run.json` and re-derives each scenario's memory trend and relay figures (from
 * the saved /metrics scrapes, when present), so re-rendered reports stay in step with the parsers.
 * Throws when run.json is missing or not JSON.
 */
export function loadRun(passDir: string): RunFile {
  const file = passFiles.run(passDir);
  let run: RunFile;
  try {
    run = JSON.parse(readFileSync(file, 'utf8')) as RunFile;
  } catch (err) {
    throw new Error(`cannot read ${file}: ${(err as Error).message}`);
  }
  for (const s of run.scenarios) {
    s.memory = memoryTrend(s);
    s.relayMetrics = scenarioRelayFigures(passDir, s.name) ?? s.relayMetrics;
  }
  return run;
}

/** The pass directories of a run: itself, or one per mode after --mode both. */
export function passesOf(runDir: string): string[] {
  if (existsSync(passFiles.run(runDir))) return [runDir];
  const dirs = readdirSync(runDir)
    .map((d) => path.join(runDir, d))
    .filter((d) => existsSync(passFiles.run(d)));
  if (dirs.length === 0) throw new Error(`${runDir} holds no run.json (nor passes with one)`);
  return dirs;
}

/** The legacy (STATS_MODE=immediate) pass of each run: what the baseline and the analysis describe. */
export function baselinePasses(runDirs: string[]): RunFile[] {
  const runs = runDirs.flatMap(passesOf).map(loadRun);
  const baseline = runs.filter((r) => r.meta.statsMode === 'immediate');
  if (baseline.length === 0) throw new Error('none of these runs has a STATS_MODE=immediate pass');
  return baseline;
}

/** Every pass of the given run directories, loaded. */
export function loadPasses(runDirs: string[]): RunFile[] {
  return runDirs.flatMap(passesOf).map(loadRun);
}

/** The scenario of that name in a run, if it ran. */
export const byName = (run: RunFile, name: string) => run.scenarios.find((s) => s.name === name);
