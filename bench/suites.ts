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
  /** The device's queues (2 unless said). */
  readonly queues?: number;
}

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
    add: ['-t', 'nbd', '--unix', '/run/tsublk-bench-nbd.sock'],
    queues: 1, // one connection, as `qemu-nbd --connect` gives the kernel client
    workloads: [...workloads, { name: 'write-128k-qd16-j1', rw: 'write', bs: '128k', iodepth: 16, jobs: 1 }],
    precondition: false, // the image is written in full when it is made
    prepare: prepareNbdExports,
  },
];

/**
 * The nbd suite's servers: one image on tmpfs, exported by qemu-nbd twice: on a unix socket for
 * tsublk, and to the kernel's nbd client (/dev/nbd0, `qemu-nbd -c`: its own server on a socket
 * pair). The same server software and page cache behind both clients.
 */
function prepareNbdExports(): () => void {
  const image = '/dev/shm/tsublk-bench-nbd.img';
  const pidFile = '/run/tsublk-bench-nbd.pid';
  execFileSync('dd', ['if=/dev/zero', `of=${image}`, 'bs=1M', 'count=1024', 'status=none']);
  execFileSync('qemu-nbd', [
    '--fork',
    '--pid-file',
    pidFile,
    '--persistent',
    '--socket',
    '/run/tsublk-bench-nbd.sock',
    '--format',
    'raw',
    image,
  ]);
  execFileSync('modprobe', ['nbd']);
  execFileSync('mkdir', ['-p', '/run/lock']); // where qemu-nbd --connect puts its socket (/var/lock); the guest's /run starts empty
  execFileSync('qemu-nbd', ['--connect', '/dev/nbd0', '--format', 'raw', image]);
  return () => {
    execFileSync('qemu-nbd', ['--disconnect', '/dev/nbd0']);
    execFileSync('kill', [readFileSync(pidFile, 'utf8').trim()]);
    execFileSync('rm', ['-f', image, pidFile]);
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
