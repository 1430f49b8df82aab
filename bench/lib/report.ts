// Results: bench/results/<date>-engine.json (every run, raw) and bench/results/latest.md
// (medians side by side with the reference figures and targets of docs/engine.md#performance).
// A run of several steps per host (--levels N > 1) writes <date>-multistep-<N>steps-<hosts>hosts.json
// and .md instead: the reference figures and latest.md are for one step.
import fs from 'node:fs';
import path from 'node:path';
import type { OpsflowRun } from './opsflow';
import type { PeerRun } from './peers';

export interface RunRecord {
  tool: string;
  hosts: number;
  run: number;
  wallS: number;
  ok: boolean;
  succeededHosts: number;
  /** Client CPU seconds: for opsflow bench process (worker + activities) + Temporal + PostgreSQL. */
  clientCpuS: number;
  peakRssMiB: number;
  /** CPU of the sshd targets (listeners + sessions + the commands they ran). */
  targetsCpuS: number;
  /** All CPU the machine spent during the run (both cores). */
  machineBusyS: number;
  /** machineBusyS − client − targets: anything else running on the machine meanwhile. */
  machineOtherS: number;
  load1AtStart: number;
  error?: string;
  opsflow?: OpsflowRun;
  peer?: PeerRun;
}

export interface BenchResult {
  date: string;
  machine: { cpus: number; model: string; kernel: string; memGiB: number; loadAtStart: number[] };
  versions: Record<string, string>;
  /** levels: steps per host (absent in results written before --levels: 1). */
  config: { hosts: number[]; levels?: number; runs: number; ansibleRuns: number; parallel: number; command: string; tools: string[]; sshdProcesses: number };
  /** The command line that produced it (absent in results written before it was recorded). */
  invocation?: string;
  loadAtEnd?: number[];
  durationS: number;
  runs: RunRecord[];
  summary?: Summary[];
}

export interface Summary {
  tool: string;
  hosts: number;
  runs: number;
  okRuns: number;
  /** Why opsflow's engine refused this size as one task, if it did. */
  refused?: string;
  medianWallS: number | null;
  medianClientCpuS: number | null;
  medianTargetsCpuS: number | null;
  medianOtherCpuS: number | null;
  medianPeakRssMiB: number | null;
  opsflowCpu?: { benchProcessS: number | null; temporalS: number | null; postgresS: number | null };
  opsflowPerHost?: { historyEvents: number | null; sqlStatements: number | null };
}

/** docs/engine.md#performance's reference figures, from a machine of this size (medians of 3). */
export const REFERENCE = [
  { tool: 'parallel-ssh 2.3.4 (team figures, docs/engine.md)', h100: 5.8, h500: 28.9, cpu500: 42.8 },
  { tool: 'Ansible core 2.14, defaults (team figures, docs/engine.md)', h100: 21.0, h500: 107.8, cpu500: 85.5 },
  { tool: 'Ansible, pipelining on (team figures, docs/engine.md)', h100: 15.9, h500: 77.3, cpu500: 61.5 },
];
const TARGET = {
  h100: Math.min(5.8 / 2, 21.0 / 5),
  h500: Math.min(28.9 / 2, 107.8 / 5),
};

const LABEL: Record<string, string> = {
  opsflow: 'opsflow (this run)',
  'parallel-ssh': 'parallel-ssh, PyPI ParallelSSHClient (this run)',
  'pssh-debian': 'parallel-ssh, Debian pssh CLI (this run)',
  ansible: 'Ansible core, defaults (this run)',
};

export function median(values: readonly (number | null | undefined)[]): number | null {
  const v = values.filter((x): x is number => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return v.length % 2 ? (v[mid] as number) : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

export function summarize(result: BenchResult): Summary[] {
  const out: Summary[] = [];
  for (const tool of result.config.tools) {
    for (const hosts of result.config.hosts) {
      const all = result.runs.filter((r) => r.tool === tool && r.hosts === hosts);
      if (all.length === 0) continue;
      const ok = all.filter((r) => r.ok);
      const s: Summary = {
        tool,
        hosts,
        runs: all.length,
        okRuns: ok.length,
        medianWallS: median(ok.map((r) => r.wallS)),
        medianClientCpuS: median(ok.map((r) => r.clientCpuS)),
        medianTargetsCpuS: median(ok.map((r) => r.targetsCpuS)),
        medianOtherCpuS: median(ok.map((r) => r.machineOtherS)),
        medianPeakRssMiB: median(ok.map((r) => r.peakRssMiB)),
      };
      const refused = all.find((r) => r.opsflow?.refused !== undefined)?.opsflow?.refused;
      if (refused !== undefined) s.refused = refused;
      if (tool === 'opsflow') {
        s.opsflowCpu = {
          benchProcessS: median(ok.map((r) => r.opsflow?.cpu.benchProcessS)),
          temporalS: median(ok.map((r) => r.opsflow?.cpu.temporalS)),
          postgresS: median(ok.map((r) => r.opsflow?.cpu.postgresS)),
        };
        s.opsflowPerHost = {
          historyEvents: median(ok.map((r) => (r.opsflow?.historyEvents ?? NaN) / hosts)),
          sqlStatements: median(ok.map((r) => (r.opsflow?.sqlStatements ?? NaN) / hosts)),
        };
      }
      out.push(s);
    }
  }
  return out;
}

const sec = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined ? '—' : `${v.toFixed(digits)} s`);

export function markdown(result: BenchResult): string {
  const summary = result.summary ?? summarize(result);
  const get = (tool: string, hosts: number): Summary | undefined => summary.find((s) => s.tool === tool && s.hosts === hosts);
  const cell = (s: Summary | undefined, field: 'medianWallS' | 'medianClientCpuS'): string => {
    if (!s) return 'not run';
    if (s.refused !== undefined) return 'refused as one task (see below)';
    if (s.okRuns === 0) return `failed (${s.runs} runs)`;
    const runs = s.okRuns === s.runs ? `${s.runs}` : `${s.okRuns}/${s.runs} ok`;
    return `${sec(s[field], 2)} (${runs === '1' ? '1 run' : `med. of ${runs}`})`;
  };
  const levels = result.config.levels ?? 1;
  const multi = levels > 1;
  const lines: string[] = [];
  lines.push(multi ? `# opsflow engine benchmark, ${levels} steps per host — ${result.date.slice(0, 10)}` : `# opsflow engine benchmark — ${result.date.slice(0, 10)}`, '');
  lines.push(
    `${multi ? `${levels} steps \`${result.config.command}\` per host, in order,` : `One step \`${result.config.command}\``} on N hosts, parallelism ${result.config.parallel}, targets = OpenSSH sshd on 127.20.x.y ` +
      `(${result.config.sshdProcesses} sshd processes × ≤16 addresses, \`SetEnv SHLVL=1\`), all on this machine ` +
      `(${result.machine.cpus} × ${result.machine.model}, ${result.machine.memGiB} GiB, Linux ${result.machine.kernel}). ` +
      `Wall time = submit → task \`succeeded\` (opsflow) / process start → exit (peers). Medians of successful runs. ` +
      `Load average at start: ${result.machine.loadAtStart.join(' ')}${result.loadAtEnd ? `, at the end: ${result.loadAtEnd.join(' ')}` : ''}. Raw data: \`${resultBaseName(result)}.json\`. How to run and caveats: \`bench/README.md\`.`,
    '',
  );
  const load = underLoad(result.machine.cpus, [result.machine.loadAtStart, result.loadAtEnd ?? []]);
  if (load) lines.push(load, '');
  if (result.invocation) lines.push(`Command: \`${result.invocation}\``, '');
  const refusals = summary.filter((s) => s.refused !== undefined);
  for (const s of refusals) lines.push(`opsflow refused ${s.hosts} hosts × ${levels} steps as one task: ${s.refused ?? ''}`, '');
  if (multi) {
    const how: Record<string, string> = {
      opsflow: `opsflow one task whose template has ${levels} levels (one SSH connection per host, reused across its steps; hosts in parallel, each host's steps in order, no barrier across hosts)`,
      'parallel-ssh': `PyPI parallel-ssh one ParallelSSHClient, ${levels} \`run_command\` + \`join\` in sequence (sessions kept)`,
      'pssh-debian': `Debian pssh ${levels} invocations in sequence (each connects again)`,
      ansible: `Ansible a playbook of ${levels} \`command\` tasks (strategy linear, no fact gathering, ssh connection defaults: ${result.versions['ansible ssh connection'] ?? '?'})`,
    };
    lines.push(
      `The ${levels} steps, as each tool's users run them: ${result.config.tools.map((t) => how[t] ?? t).join('; ')}. ` +
        `The peers have a barrier between steps (every host finishes step k before any starts k + 1); opsflow does not.`,
      '',
    );
  }
  const hasCol = (h: number): boolean => result.config.hosts.includes(h);
  const big = hasCol(500) ? 500 : Math.max(...result.config.hosts);
  const cols = [...new Set([100, 500, ...result.config.hosts])].filter(hasCol).sort((a, b) => a - b);
  lines.push(`| ${multi ? `tool (${levels} steps per host)` : 'tool'} | ${cols.map((h) => `${h} hosts`).join(' | ')} | client CPU (${big}) |`);
  lines.push(`|---|${cols.map(() => '---|').join('')}---|`);
  for (const tool of result.config.tools) {
    lines.push(`| ${LABEL[tool] ?? tool} | ${cols.map((h) => cell(get(tool, h), 'medianWallS')).join(' | ')} | ${cell(get(tool, big), 'medianClientCpuS')} |`);
  }
  // The reference figures and targets are for one step: not comparable with several.
  if (!multi) {
    for (const ref of REFERENCE) {
      const vals = cols.map((h) => (h === 100 ? sec(ref.h100) : h === 500 ? sec(ref.h500) : '—'));
      lines.push(`| ${ref.tool} | ${vals.join(' | ')} | ${big === 500 ? sec(ref.cpu500) : '—'} |`);
    }
    lines.push(
      `| **target** (½ parallel-ssh, ⅕ Ansible, team figures) | ${cols.map((h) => (h === 100 ? `≤ ${sec(TARGET.h100, 2)}` : h === 500 ? `≤ ${sec(TARGET.h500, 2)}` : '—')).join(' | ')} | — |`,
    );
  }
  lines.push('');

  if (multi) {
    lines.push('## Per step (medians divided by the step count)', '');
    lines.push('| tool | hosts | wall per step | client CPU per host-step | sshd CPU per host-step |');
    lines.push('|---|---|---|---|---|');
    const ms = (v: number | null | undefined, h: number): string => (v === null || v === undefined ? '—' : `${((1000 * v) / (h * levels)).toFixed(1)} ms`);
    for (const tool of result.config.tools) {
      for (const h of cols) {
        const s = get(tool, h);
        if (!s || s.okRuns === 0) continue;
        lines.push(`| ${tool} | ${h} | ${sec(s.medianWallS === null ? null : s.medianWallS / levels, 2)} | ${ms(s.medianClientCpuS, h)} | ${ms(s.medianTargetsCpuS, h)} |`);
      }
    }
    lines.push('');
  }

  // The same targets against the peers as measured in this run.
  const ours = result.config.tools.includes('opsflow');
  if (ours && !multi) {
    lines.push('## opsflow against the targets', '');
    lines.push('| hosts | opsflow | ½ parallel-ssh (team figures) | ⅕ Ansible (team figures) | ½ parallel-ssh PyPI (here) | ½ Debian pssh (here) | ⅕ Ansible (here) | met? |');
    lines.push('|---|---|---|---|---|---|---|---|');
    for (const h of cols) {
      const o = get('opsflow', h)?.medianWallS ?? null;
      const ref = (v: number | null | undefined, f: number): number | null => (v === null || v === undefined ? null : v * f);
      const dPssh = h === 100 ? 5.8 : h === 500 ? 28.9 : null;
      const dAns = h === 100 ? 21.0 : h === 500 ? 107.8 : null;
      const bounds = [ref(dPssh, 0.5), ref(dAns, 0.2)].filter((x): x is number => x !== null);
      const met = o === null || bounds.length === 0 ? '—' : o <= Math.min(...bounds) ? 'yes' : `no (${(o / Math.min(...bounds)).toFixed(1)}× the target)`;
      lines.push(
        `| ${h} | ${sec(o, 2)} | ${sec(ref(dPssh, 0.5), 2)} | ${sec(ref(dAns, 0.2), 2)} | ${sec(ref(get('parallel-ssh', h)?.medianWallS, 0.5), 2)} | ` +
          `${sec(ref(get('pssh-debian', h)?.medianWallS, 0.5), 2)} | ${sec(ref(get('ansible', h)?.medianWallS, 0.2), 2)} | ${met} |`,
      );
    }
    lines.push('');
  }
  if (ours) {
    lines.push('## opsflow detail (medians)', '');
    const perHost = multi ? `/ host (${levels} steps)` : '/ host';
    lines.push(
      '| hosts | wall | CPU: bench process (worker + activities) | CPU: Temporal dev server | CPU: PostgreSQL | client CPU total | sshd CPU | other CPU on the machine ' +
        `| peak RSS (bench process) | history events ${perHost} | SQL statements ${perHost} |`,
    );
    lines.push('|---|---|---|---|---|---|---|---|---|---|---|');
    for (const h of cols) {
      const s = get('opsflow', h);
      if (!s) continue;
      lines.push(
        `| ${h} | ${sec(s.medianWallS, 2)} | ${sec(s.opsflowCpu?.benchProcessS, 2)} | ${sec(s.opsflowCpu?.temporalS, 2)} | ${sec(s.opsflowCpu?.postgresS, 2)} | ` +
          `${sec(s.medianClientCpuS, 2)} | ${sec(s.medianTargetsCpuS, 2)} | ${sec(s.medianOtherCpuS, 2)} | ${s.medianPeakRssMiB?.toFixed(0) ?? '—'} MiB | ` +
          `${s.opsflowPerHost?.historyEvents?.toFixed(1) ?? '—'} | ${s.opsflowPerHost?.sqlStatements?.toFixed(1) ?? '—'} |`,
      );
    }
    lines.push('');
  }

  lines.push('## Every run', '');
  lines.push('| tool | hosts | run | wall | client CPU | sshd CPU | other CPU | peak RSS | ok hosts | note |');
  lines.push('|---|---|---|---|---|---|---|---|---|---|');
  for (const r of result.runs) {
    const note = r.error
      ? r.error.replace(/\|/g, '/').replace(/\s+/g, ' ').slice(0, 120)
      : r.peer?.cpu.detachedS
        ? `incl. ${r.peer.cpu.detachedS.toFixed(2)} s of detached ssh masters`
        : r.peer?.stepsWallS
          ? `per invocation: ${r.peer.stepsWallS.map((w) => w.toFixed(2)).join(', ')} s`
          : '';
    lines.push(
      `| ${r.tool} | ${r.hosts} | ${r.run} | ${sec(r.wallS, 2)} | ${sec(r.clientCpuS, 2)} | ${sec(r.targetsCpuS, 2)} | ${sec(r.machineOtherS, 2)} | ` +
        `${r.peakRssMiB.toFixed(0)} MiB | ${r.succeededHosts}/${r.hosts} | ${note} |`,
    );
  }
  lines.push('', '## Versions', '');
  for (const [k, v] of Object.entries(result.versions)) lines.push(`- ${k}: ${v}`);
  lines.push('');
  return lines.join('\n');
}

/**
 * A warning when other work shared the machine (load average above half the cores at the start
 * or the end): the figures must then be read as taken under load.
 */
export function underLoad(cpus: number, loads: number[][]): string | null {
  const peak = Math.max(0, ...loads.map((l) => l[0] ?? 0));
  if (peak <= cpus / 2) return null;
  return `**Under load**: 1-minute load average up to ${peak} on ${cpus} cores — other work shared the machine; wall times are upper bounds, compare CPU seconds.`;
}

/** <date>-engine for one step per host; several steps get their own name (latest.md is one step's). */
export function resultBaseName(result: BenchResult): string {
  const levels = result.config.levels ?? 1;
  const date = result.date.slice(0, 10);
  if (isFleet(result)) return `${date}-fleet-${levels}steps-${result.config.hosts.join('-')}hosts`;
  return levels === 1 ? `${date}-engine` : `${date}-multistep-${levels}steps-${result.config.hosts.join('-')}hosts`;
}

/** Above 500 hosts: a fleet-scale run, with its own files (latest.md stays the 100/500 table). */
function isFleet(result: BenchResult): boolean {
  return Math.max(...result.config.hosts) > 500;
}

export function writeReports(dir: string, result: BenchResult): string[] {
  fs.mkdirSync(dir, { recursive: true });
  result.summary = summarize(result);
  const base = resultBaseName(result);
  const json = path.join(dir, `${base}.json`);
  fs.writeFileSync(json, JSON.stringify(result, null, 2) + '\n');
  const md = path.join(dir, (result.config.levels ?? 1) === 1 && !isFleet(result) ? 'latest.md' : `${base}.md`);
  fs.writeFileSync(md, markdown(result));
  return [json, md];
}
