import { readFileSync } from 'node:fs';

/** A kernel CPU list ("0-2,5"; sysfs's blk-mq "0, 1") as CPU numbers; [] for an empty or malformed one. */
export function parseCpuList(list: string): number[] {
  const cpus: number[] = [];
  for (const part of list.split(',')) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (match === null) return [];
    const first = Number(match[1]);
    const last = match[2] === undefined ? first : Number(match[2]);
    for (let cpu = first; cpu <= last; cpu++) cpus.push(cpu);
  }
  return cpus;
}

/**
 * The CPUs thread `tid` of process `pid` may run on now (its Cpus_allowed_list), or null when it
 * is gone. Placement auto moves a queue's thread with its wait mode, so its record's CPUs are
 * only where it started.
 */
export function threadCpusNow(pid: number, tid: number): number[] | null {
  try {
    const status = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(status)?.[1];
    return list === undefined ? null : parseCpuList(list);
  } catch {
    return null;
  }
}
