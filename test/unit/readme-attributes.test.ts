// The README's null_blk attribute table against the code: every null option is in it under its
// attribute's name, every row names a real option or says why there is none.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nullOptions } from '../../src/targets/null-options.js';

const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
const bin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));

interface Row {
  readonly attributes: string[];
  readonly tsublk: string;
}

/** The rows of the table under the attribute-table marker. */
function table(): Row[] {
  const start = readme.indexOf('<!-- attribute table:');
  expect(start).toBeGreaterThan(0);
  const lines = readme.slice(start).split('\n').slice(1);
  const rows: Row[] = [];
  for (const line of lines.slice(2)) {
    if (!line.startsWith('|')) break;
    const cells = line
      .split(/(?<!\\)\|/)
      .slice(1, -1)
      .map((cell) => cell.trim());
    expect(cells, line).toHaveLength(4);
    rows.push({
      attributes: [...(cells[0] ?? '').matchAll(/`([a-z_]+)`/g)].map((m) => m[1] ?? ''),
      tsublk: cells[2] ?? '',
    });
  }
  return rows;
}

/** Every null_blk/rnull knob (facts.md's parity list, and null_blk's fault injection groups). */
const parity = [
  'size',
  'blocksize',
  'submit_queues',
  'hw_queue_depth',
  'irqmode',
  'completion_nsec',
  'memory_backed',
  'discard',
  'cache_size',
  'fua',
  'mbps',
  'badblocks',
  'badblocks_once',
  'badblocks_partial_io',
  'rotational',
  'zoned',
  'zone_size',
  'zone_capacity',
  'zone_nr_conv',
  'zone_max_open',
  'zone_max_active',
  'zone_append_max_sectors',
  'poll_queues',
  'blocking',
  'shared_tags',
  'no_sched',
  'home_node',
  'power',
  'virt_boundary',
  'max_sectors',
  'queue_mode',
  'index',
  'init_hctx',
  'timeout_inject',
  'requeue_inject',
  'nr_devices',
  'use_per_node_hctx',
];

describe("the README's null_blk attribute table", () => {
  const rows = table();

  it('has a row for every null_blk and rnull attribute', () => {
    const listed = new Set(rows.flatMap((row) => row.attributes));
    expect(parity.filter((attribute) => !listed.has(attribute))).toEqual([]);
  });

  it('lists every null option under the attribute of the same name', () => {
    for (const option of nullOptions) {
      const row = rows.find((candidate) => candidate.tsublk === `\`--${option.name}\``);
      expect(row, `--${option.name}`).toBeDefined();
      const attribute = option.name === 'init_hctx_fail' ? 'init_hctx' : option.name;
      expect(row?.attributes).toContain(attribute);
    }
  });

  it('names in each row an option tsublk has, or says why there is none', () => {
    const addHelp = spawnSync(process.execPath, [bin, 'add', '--help'], { encoding: 'utf8' }).stdout;
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' }).stdout;
    for (const row of rows) {
      const option = /^`(-{1,2}[a-z_]+|tsublk [a-z]+)`$/.exec(row.tsublk)?.[1];
      if (option === undefined) {
        expect(row.tsublk, row.attributes.join(' ')).toMatch(/^(not yet|not applicable: .{20,})$/);
      } else if (option.startsWith('tsublk ')) {
        expect(help).toContain(`tsublk ${option.slice(7)} `);
      } else {
        expect(addHelp, option).toMatch(new RegExp(`(^|\\s|, )${option}[\\s,]`, 'm'));
      }
    }
  });
});
