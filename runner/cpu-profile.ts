import fs from 'node:fs';

/** The parts of V8's `.cpuprofile` (what `node --cpu-prof` writes) this module reads. */
interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}
export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface HotFunction {
  /** `name (file:line)`, or a V8 pseudo-frame such as `(garbage collector)`. */
  frame: string;
  functionName: string;
  location: string;
  selfMs: number;
  selfPercent: number;
}

export interface ProfileSummary {
  durationMs: number;
  /** Time in samples that were not idle. */
  busyMs: number;
  top: HotFunction[];
  /** Self time grouped by where the code lives (relay, Prisma, ws, drivers, Node, V8). */
  byArea: { area: string; selfMs: number; selfPercent: number }[];
}

/** Which part of the stack a frame belongs to, from its script location. */
export function areaOf(functionName: string, location: string): string {
  if (!location) return /garbage/i.test(functionName) ? 'garbage collection' : 'V8 / native';
  if (location.startsWith('@prisma/')) return 'Prisma client and adapters';
  if (/^(mariadb|better-sqlite3)\//.test(location)) return 'database driver';
  if (location.startsWith('ws/')) return 'ws (WebSocket library)';
  if (location.startsWith('backend/')) return 'relay code';
  if (location.startsWith('node:')) return 'Node.js internals';
  return 'other packages';
}

/** Shortens node_modules/dist paths to what a reader recognises. */
function shortLocation(url: string, line: number): string {
  if (!url) return '';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('node_modules/');
  const own = path.indexOf('/backend/');
  const short =
    nm >= 0
      ? path.slice(nm + 'node_modules/'.length).replace(/^\.pnpm\/[^/]+\/node_modules\//, '')
      : own >= 0
        ? path.slice(own + 1)
        : path;
  return `${short}:${line + 1}`;
}

/**
 * Self time per function: each sample's time delta belongs to the node it landed in. Frames of
 * the same function (same name, file and line) reached through different call paths are summed.
 */
export function summarizeProfile(profile: CpuProfile, limit = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  if (samples.length) {
    // timeDeltas[i] is the time since the previous sample; it is charged to sample i.
    for (let i = 0; i < samples.length; i++) {
      selfUs.set(samples[i], (selfUs.get(samples[i]) ?? 0) + Math.max(0, deltas[i] ?? 0));
    }
  } else {
    const total = profile.endTime - profile.startTime;
    const hits = profile.nodes.reduce((s, n) => s + (n.hitCount ?? 0), 0) || 1;
    for (const n of profile.nodes) selfUs.set(n.id, ((n.hitCount ?? 0) / hits) * total);
  }
  const byFrame = new Map<string, HotFunction>();
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const name = functionName || '(anonymous)';
    const location = shortLocation(url, lineNumber);
    const frame = location ? `${name} (${location})` : name;
    const entry = byFrame.get(frame) ?? { frame, functionName: name, location, selfMs: 0, selfPercent: 0 };
    entry.selfMs += us / 1000;
    byFrame.set(frame, entry);
  }
  const durationMs = (profile.endTime - profile.startTime) / 1000;
  const busyMs = Math.max(0, durationMs - idleUs / 1000);
  const share = (ms: number) => (busyMs > 0 ? Math.round((ms / busyMs) * 1000) / 10 : 0);
  const areas = new Map<string, number>();
  for (const f of byFrame.values()) {
    const area = areaOf(f.functionName, f.location);
    areas.set(area, (areas.get(area) ?? 0) + f.selfMs);
  }
  const byArea = [...areas]
    .map(([area, ms]) => ({ area, selfMs: Math.round(ms * 10) / 10, selfPercent: share(ms) }))
    .sort((a, b) => b.selfMs - a.selfMs);
  const top = [...byFrame.values()].sort((a, b) => b.selfMs - a.selfMs).slice(0, limit);
  for (const f of top) {
    f.selfPercent = share(f.selfMs);
    f.selfMs = Math.round(f.selfMs * 10) / 10;
  }
  return { durationMs: Math.round(durationMs), busyMs: Math.round(busyMs), top, byArea };
}

export function summarizeProfileFile(file: string, limit?: number): ProfileSummary {
  return summarizeProfile(JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile, limit);
}
