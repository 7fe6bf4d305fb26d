import type { TargetPlanner } from '../blk/target-plan.js';

/** The memory target's options and plan, for the CLI (nothing here loads target code). */
export const memoryPlanner: TargetPlanner = {
  name: 'memory',
  heading: 'memory target:',
  options: [
    {
      name: 'backing',
      kind: 'string',
      describe: 'the backing file (kept; default: /dev/shm/tsublk-<id>, removed with the device)',
      valid: (value) => value !== '',
      fix: 'name a file: --backing /var/lib/disk.img',
    },
  ],
  plan(values, common) {
    const backing = values['backing'] === undefined ? null : String(values['backing']);
    if (common.sizeBytes === null && backing === null)
      throw new Error('a memory device needs a size: add --size (e.g. --size 1G)');
    // Size 0: the existing --backing file's own, found when the daemon opens it.
    return { config: { sizeBytes: common.sizeBytes ?? 0, logicalBlockSize: common.logicalBlockSize, backing } };
  },
};
