// What `npm run bench` measures: the workloads, and each tsublk device beside the kernel device it
// is compared with (bench/block.ts runs them).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export interface Workload {
  readonly name: string;
  readonly rw: string;
  readonly bs: string;
  readonly iodepth: number;
  readonly jobs: number;
}

const workloads: readonly Workload[] = [
  { name: 'randread-4k-qd1-j1', rw: 'randread', bs: '4k', iodepth: 1, jobs: 1 },
  { name: 'randread-4k-qd32-j1', rw: 'randread', bs: '4k', iodepth: 32, jobs: 1 },
  { name: 'randread-4k-qd32-j2', rw: 'randread', bs: '4k', iodepth: 32, jobs: 2 },
  { name: 'randwrite-4k-qd32-j2', rw: 'randwrite', bs: '4k', iodepth: 32, jobs: 2 },
  { name: 'read-128k-qd16-j1', rw: 'read', bs: '128k', iodepth: 16, jobs: 1 },
];

/** A tsublk target and the kernel device it is measured against. */
export interface Suite {
  readonly device: string;
  readonly anchor: string;
  readonly anchorPath: string;
  readonly add: readonly string[];
  /** Makes what the suite serves (the loop suite's file and kernel loop device); returns how to undo it. */
  readonly prepare?: () => () => void;
  readonly workloads: readonly Workload[];
  /**
   * Write both devices in full before measuring: RAM disks allocate a page on first touch, and
   * a benchmark of 4 s touches mostly new pages otherwise (steady state, as storage is measured).
   */
  readonly precondition: boolean;
  /** A UBLK_F_* feature the suite needs (`tsublk features`): on a kernel without it the suite says so and is left out. */
  readonly needs?: string;
  /** The tsublk device this one is compared with in the same workload (its "of" column). */
  readonly base?: string;
}

/** The nbd suite's server port (not NBD's 10809: a user's own server may have it). */
const NBD_PORT = 10819;

export const suites: readonly Suite[] = [
  {
    device: 'tsublk-null',
    anchor: 'null_blk',
    anchorPath: '/dev/nullb0',
    add: ['-t', 'null'],
    workloads,
    precondition: false,
  },
  {
    device: 'tsublk-null-batch',
    anchor: 'null_blk',
    anchorPath: '/dev/nullb0',
    add: ['-t', 'null', '-b'],
    workloads,
    precondition: false,
    needs: 'BATCH_IO',
    base: 'tsublk-null', // what batch I/O buys
  },
  {
    device: 'tsublk-memory',
    anchor: 'brd',
    anchorPath: '/dev/ram0',
    add: ['-t', 'memory', '--size', '1G'], // brd's size in the VM
    workloads: [...workloads, { name: 'write-128k-qd16-j1', rw: 'write', bs: '128k', iodepth: 16, jobs: 1 }],
    precondition: true,
    base: 'tsublk-null', // what moving the data costs
  },
  {
    device: 'tsublk-loop',
    anchor: 'loop',
    anchorPath: '/dev/loop7',
    add: ['-t', 'loop', '-f', '/mnt/tsublk-bench/disk.img', '--copy'], // zero copy has its own suite
    workloads: [...workloads, { name: 'write-128k-qd16-j1', rw: 'write', bs: '128k', iodepth: 16, jobs: 1 }],
    precondition: false, // the file is written in full when it is made
    prepare: prepareLoopFile,
  },
  {
    device: 'tsublk-loop-zc',
    anchor: 'loop',
    anchorPath: '/dev/loop7',
    add: ['-t', 'loop', '-f', '/mnt/tsublk-bench/disk.img', '-z'],
    workloads: [...workloads, { name: 'write-128k-qd16-j1', rw: 'write', bs: '128k', iodepth: 16, jobs: 1 }],
    precondition: false,
    prepare: prepareLoopFile,
    needs: 'AUTO_BUF_REG',
    base: 'tsublk-loop', // what zero copy buys
  },
  {
    device: 'tsublk-loop-zc-batch',
    anchor: 'loop',
    anchorPath: '/dev/loop7',
    add: ['-t', 'loop', '-f', '/mnt/tsublk-bench/disk.img', '-z', '-b'],
    workloads: [...workloads, { name: 'write-128k-qd16-j1', rw: 'write', bs: '128k', iodepth: 16, jobs: 1 }],
    precondition: false,
    prepare: prepareLoopFile,
    needs: 'BATCH_IO',
    base: 'tsublk-loop-zc', // what batch I/O buys
  },
  {
    device: 'tsublk-nbd',
    anchor: 'nbd',
    anchorPath: '/dev/nbd0',
    // 2 queues: 2 connections. The copy data path; zero copy has its own suite.
    add: ['-t', 'nbd', '--host', '127.0.0.1', '--port', String(NBD_PORT), '--copy'],
    workloads: [...workloads, { name: 'write-128k-qd16-j1', rw: 'write', bs: '128k', iodepth: 16, jobs: 1 }],
    precondition: true, // the server's memory, written in full
    prepare: prepareNbdExport,
  },
  {
    device: 'tsublk-nbd-zc',
    anchor: 'nbd',
    anchorPath: '/dev/nbd0',
    add: ['-t', 'nbd', '--host', '127.0.0.1', '--port', String(NBD_PORT), '-z'],
    workloads: [...workloads, { name: 'write-128k-qd16-j1', rw: 'write', bs: '128k', iodepth: 16, jobs: 1 }],
    precondition: true,
    prepare: prepareNbdExport,
    needs: 'AUTO_BUF_REG',
    base: 'tsublk-nbd', // what zero copy buys
  },
];

/**
 * The nbd suite's server: nbdkit's memory plugin (1 GiB, multi-conn) on TCP, and the kernel's
 * nbd client on the same export with as many connections as tsublk has queues (nbd-client -C 2).
 */
function prepareNbdExport(): () => void {
  const pidFile = '/run/tsublk-bench-nbdkit.pid';
  try {
    execFileSync('which', ['nbd-client'], { stdio: 'ignore' });
  } catch {
    throw new Error('the nbd suite compares with the kernel nbd client: install nbd-client (apt install nbd-client)');
  }
  execFileSync('nbdkit', ['--port', String(NBD_PORT), '--pidfile', pidFile, 'memory', '1G']); // listening when it returns
  execFileSync('modprobe', ['nbd']);
  execFileSync('nbd-client', ['127.0.0.1', String(NBD_PORT), '/dev/nbd0', '-C', '2'], { stdio: 'ignore' });
  return () => {
    execFileSync('nbd-client', ['-d', '/dev/nbd0'], { stdio: 'ignore' });
    execFileSync('kill', [readFileSync(pidFile, 'utf8').trim()]);
  };
}

/**
 * The loop suite's backing: ext4 on brd (/dev/ram0, after the memory suite is done with it) with
 * one 512 MiB file written in full (no unwritten extents, whose reads never reach the disk), and
 * the kernel's loop driver on the same file with direct I/O, as tsublk serves it.
 */
function prepareLoopFile(): () => void {
  const dir = '/mnt/tsublk-bench';
  execFileSync('mkfs.ext4', ['-q', '-F', '/dev/ram0']);
  execFileSync('mkdir', ['-p', dir]);
  execFileSync('mount', ['/dev/ram0', dir]);
  execFileSync('dd', ['if=/dev/zero', `of=${dir}/disk.img`, 'bs=1M', 'count=512', 'oflag=direct', 'status=none']);
  execFileSync('modprobe', ['loop']);
  execFileSync('losetup', ['--direct-io=on', '/dev/loop7', `${dir}/disk.img`]);
  return () => {
    execFileSync('losetup', ['-d', '/dev/loop7']);
    execFileSync('umount', [dir]);
  };
}
