import { missingControlAdvice, ublkInConfig, ublkInKernel } from '../../src/ublk/kernel-config.js';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { UBLK_F } from '../../native-bindings/ublk_cmd.js';
import { ADD_FLAGS, type AddArguments, flagsTsublkRequests, planAdd } from '../../src/cli/plan.js';
import { featureNames } from '../../src/ublk/features.js';
import { parseSize } from '../../src/cli/sizes.js';

const defaults: AddArguments = {
  type: 'null',
  number: -1,
  queues: 2,
  depth: 128,
  size: '250GiB',
  bs: 512,
  u: 0,
  g: 0,
  r: 0,
  e: 0,
  i: 0,
  auto_zc: false,
  'batch-io': false,
  usercopy: false,
  copy: false,
  unprivileged: false,
  max_io_buf_bytes: 524288,
  pin: false,
  'log-level': 'info',
};

describe('parseSize', () => {
  it.each([
    ['512', 512],
    ['4K', 4096],
    ['4k', 4096],
    ['1G', 2 ** 30],
    ['250GiB', 250 * 2 ** 30],
    ['1.5T', 1.5 * 2 ** 40],
    ['8M', 8 * 2 ** 20],
    ['100B', 100],
  ])('%s is %d bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  it.each(['', 'G', '12X', '-1', '1.5', '0x10'])('refuses %j naming it', (text) => {
    expect(() => parseSize(text)).toThrow(/bad size/);
  });
});

describe('planAdd', () => {
  it('turns the defaults into null_blk-like settings with ioctl-encoded commands', () => {
    expect(planAdd(defaults)).toEqual({
      devId: -1,
      queues: 2,
      threads: 2,
      depth: 128,
      maxIoBufBytes: 524288,
      flags: UBLK_F.CMD_IOCTL_ENCODE,
      target: 'null',
      targetConfig: { sizeBytes: 250 * 2 ** 30, logicalBlockSize: 512 },
      placement: 'beside',
      dataPath: 'auto',
      logLevel: 'info',
    });
  });

  it('serves each queue from one thread, or (--per_io_tasks: PER_IO_DAEMON) a multiple of them', () => {
    expect(planAdd({ ...defaults, nthreads: 2 })).toMatchObject({ queues: 2, threads: 2 });
    const spread = planAdd({ ...defaults, nthreads: 4, per_io_tasks: true });
    expect(spread).toMatchObject({ queues: 2, threads: 4 });
    expect(spread.flags & UBLK_F.PER_IO_DAEMON).toBe(UBLK_F.PER_IO_DAEMON);
    expect(planAdd({ ...defaults, per_io_tasks: true })).toMatchObject({ threads: 2 });
    expect(planAdd(defaults).flags & UBLK_F.PER_IO_DAEMON).toBe(0);
  });

  it('places queue threads as --placement says, else as the target prefers (nbd: auto), else beside', () => {
    const nbd = { ...defaults, type: 'nbd', size: undefined, unix: '/tmp/x.sock' };
    expect(planAdd(defaults).placement).toBe('beside');
    expect(planAdd(nbd).placement).toBe('auto');
    expect(planAdd({ ...nbd, placement: 'beside' }).placement).toBe('beside');
    expect(planAdd({ ...defaults, placement: 'auto' }).placement).toBe('auto');
    expect(planAdd({ ...nbd, pin: true }).placement).toBe('pin');
    expect(() => planAdd({ ...nbd, placement: 'near' })).toThrow(
      /bad --placement near: use beside, submitters, pin, auto/,
    );
  });

  it('picks the data path: user copy where offered, unless --copy or -g 1 asks for buffers', () => {
    expect(planAdd(defaults).dataPath).toBe('auto');
    expect(planAdd({ ...defaults, copy: true }).dataPath).toBe('copy');
    expect(planAdd({ ...defaults, g: 1 }).dataPath).toBe('copy');
    expect(planAdd({ ...defaults, usercopy: true }).dataPath).toBe('usercopy');
  });

  it("gives the memory target its size and backing: --size, or the --backing file's own", () => {
    expect(planAdd({ ...defaults, type: 'memory', size: '1G' }).targetConfig).toEqual({
      sizeBytes: 2 ** 30,
      logicalBlockSize: 512,
      backing: null,
    });
    expect(planAdd({ ...defaults, type: 'memory', size: undefined, backing: '/img' }).targetConfig).toEqual({
      sizeBytes: 0,
      logicalBlockSize: 512,
      backing: '/img',
    });
    expect(planAdd({ ...defaults, size: undefined }).targetConfig).toEqual({
      sizeBytes: 250 * 2 ** 30,
      logicalBlockSize: 512,
    });
  });

  it('asks for UBLK_F_UNPRIVILEGED_DEV with --unprivileged, on the copy path the kernel allows it', () => {
    const plan = planAdd({ ...defaults, unprivileged: true });
    expect(plan.flags).toBe(UBLK_F.CMD_IOCTL_ENCODE | UBLK_F.UNPRIVILEGED_DEV);
    expect(plan.dataPath).toBe('copy');
  });

  it('maps -u -g -r -e -i --usercopy to their UBLK_F_ flags', () => {
    const flags = (overrides: Partial<AddArguments>): number =>
      planAdd({ ...defaults, ...overrides }).flags & ~UBLK_F.CMD_IOCTL_ENCODE;
    expect(flags({ u: 1 })).toBe(UBLK_F.URING_CMD_COMP_IN_TASK);
    expect(flags({ g: 1 })).toBe(UBLK_F.NEED_GET_DATA);
    expect(flags({ r: 1 })).toBe(UBLK_F.USER_RECOVERY);
    expect(flags({ e: 1 })).toBe(UBLK_F.USER_RECOVERY | UBLK_F.USER_RECOVERY_FAIL_IO);
    expect(flags({ i: 1 })).toBe(UBLK_F.USER_RECOVERY | UBLK_F.USER_RECOVERY_REISSUE);
    expect(flags({ usercopy: true })).toBe(UBLK_F.USER_COPY);
    expect(flags({ 'batch-io': true })).toBe(UBLK_F.BATCH_IO);
    expect(flags({ 'batch-io': true, usercopy: true })).toBe(UBLK_F.BATCH_IO | UBLK_F.USER_COPY);
  });

  it('serves the loop target by zero copy with -z (AUTO_BUF_REG, with user copy beside it), and by default where the kernel has it', () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'tsublk-plan-')), 'disk.img');
    writeFileSync(file, Buffer.alloc(1 << 20));
    const plan = planAdd({ ...defaults, type: 'loop', size: undefined, file, auto_zc: true });
    expect(plan.flags & UBLK_F.AUTO_BUF_REG).toBe(UBLK_F.AUTO_BUF_REG);
    expect(plan.flags & UBLK_F.USER_COPY).toBe(UBLK_F.USER_COPY); // small pieces by copyToRequest
    expect(plan.dataPath).toBe('zerocopy');
    // Left to itself, it takes zero copy where the kernel offers it (the daemon asks), else copies.
    const chosen = planAdd({ ...defaults, type: 'loop', size: undefined, file });
    expect(chosen.dataPath).toBe('zerocopy-or-copy');
    expect(chosen.flags & UBLK_F.AUTO_BUF_REG).toBe(0);
    expect(planAdd({ ...defaults, type: 'loop', size: undefined, file, copy: true }).dataPath).toBe('copy');
    rmSync(path.dirname(file), { recursive: true });
  });

  it('serves the nbd target by zero copy with -z, and by default where the kernel has it (else its copy path)', () => {
    const nbd = { ...defaults, type: 'nbd', size: undefined, host: '127.0.0.1' } as AddArguments;
    const plan = planAdd({ ...nbd, auto_zc: true });
    expect(plan.flags & (UBLK_F.AUTO_BUF_REG | UBLK_F.USER_COPY)).toBe(UBLK_F.AUTO_BUF_REG | UBLK_F.USER_COPY);
    expect(plan.dataPath).toBe('zerocopy');
    expect(planAdd(nbd).dataPath).toBe('zerocopy-or-copy');
    expect(planAdd({ ...nbd, copy: true }).dataPath).toBe('copy');
  });

  it.each<[Partial<AddArguments>, RegExp]>([
    [{ type: 'nope' }, /unknown target 'nope'/],
    [{ number: -2 }, /bad device id -2/],
    [{ queues: 0 }, /bad queue count 0: use -q between 1 and 4096/],
    [{ queues: 1.5 }, /bad queue count 1.5/],
    [{ depth: 0 }, /bad queue depth 0/],
    [{ depth: 4097 }, /bad queue depth 4097/],
    [{ bs: 1000 }, /bad block size 1000: use --bs 512, 1024, 2048 or 4096/],
    [{ size: '1000' }, /multiple of the block size \(512\)/],
    [{ size: '4K', bs: 4096, depth: 1 }, /^$/],
    [{ size: '6K', bs: 4096 }, /multiple of the block size \(4096\)/],
    [{ max_io_buf_bytes: 1000 }, /bad max_io_buf_bytes 1000/],
    [{ u: 2 }, /bad -u 2: use 0 or 1/],
    [{ 'log-level': 'loud' }, /bad --log-level loud: use error, warn, info, debug/],
    [
      { auto_zc: true },
      /-z needs a target that moves request data only through QueueIo \(loop and nbd do\); the null target does not: leave -z out/,
    ],
    [{ auto_zc: true, usercopy: true }, /-z and --usercopy exclude each other: pick one data path/],
    [{ auto_zc: true, g: 1 }, /-z and -g 1 exclude each other/],
    [{ auto_zc: true, unprivileged: true }, /-z and --unprivileged exclude each other/],
    [{ 'batch-io': true, g: 1 }, /-b and -g 1 exclude each other: batch I\/O has no get-data round trip/],
    [{ unprivileged: true, usercopy: true }, /--usercopy and --unprivileged exclude each other/],
    [{ unprivileged: true, r: 1 }, /-r, -e and -i need a privileged device/],
    [{ unprivileged: true, i: 1 }, /-r, -e and -i need a privileged device/],
    [{ usercopy: true, g: 1 }, /exclude each other/],
    [{ type: 'memory', size: undefined }, /a memory device needs a size: add --size/],
    [{ type: 'memory', size: '0' }, /bad size 0: it must be a positive multiple/],
    [{ backing: '/img' }, /--backing is for the memory target/],
    [{ usercopy: true, copy: true }, /--usercopy and --copy exclude each other/],
    [
      { nthreads: 4 },
      /--nthreads 4 with 2 queues: each queue has one thread unless --per_io_tasks spreads its tags; add --per_io_tasks, or use -q 4/,
    ],
    [{ nthreads: 0, per_io_tasks: true }, /bad thread count 0: use --nthreads between 1 and/],
    [{ nthreads: 3, per_io_tasks: true }, /--nthreads 3 with 2 queues of depth 128: .* use a multiple of 2 up to 256/],
    [{ nthreads: 8, depth: 2, per_io_tasks: true }, /--nthreads 8 with 2 queues of depth 2: .* up to 4/],
    [{ nthreads: 4, per_io_tasks: true, 'batch-io': true }, /--per_io_tasks and -b exclude each other/],
    [{ nthreads: 2, queues: 1, per_io_tasks: true, zoned: 1 }, /--per_io_tasks and a zoned device exclude each other/],
    [
      { type: 'nbd', size: undefined, unix: '/tmp/x.sock', queues: 1, nthreads: 2, per_io_tasks: true },
      /--per_io_tasks: the nbd target serves each queue from one thread: it keeps one connection per queue/,
    ],
  ])('%j', (overrides, message) => {
    if (message.source === '^$') {
      expect(() => planAdd({ ...defaults, ...overrides })).not.toThrow();
      return;
    }
    expect(() => planAdd({ ...defaults, ...overrides })).toThrow(message);
  });
});

describe('what tsublk asks the kernel for (tsublk features: "used")', () => {
  it("is derived from add's options, the data paths, the targets' requests and the control commands: ZONED (null's), AUTO_BUF_REG (-z's), PER_IO_DAEMON (--per_io_tasks'), BATCH_IO (-b's) and SAFE_STOP_DEV (del --safe's) included", () => {
    expect(featureNames(flagsTsublkRequests())).toEqual([
      'URING_CMD_COMP_IN_TASK',
      'NEED_GET_DATA',
      'USER_RECOVERY',
      'USER_RECOVERY_REISSUE',
      'UNPRIVILEGED_DEV',
      'CMD_IOCTL_ENCODE',
      'USER_COPY',
      'ZONED',
      'USER_RECOVERY_FAIL_IO',
      'UPDATE_SIZE',
      'AUTO_BUF_REG',
      'QUIESCE',
      'PER_IO_DAEMON',
      'BATCH_IO',
      'SAFE_STOP_DEV',
      'NO_AUTO_PART_SCAN',
    ]);
  });

  it('refuses, as a bug, a plan that asks for a flag its target does not declare', () => {
    const module = {
      name: 'greedy',
      heading: 'greedy:',
      options: [],
      plan: () => ({ config: { sizeBytes: 4096, logicalBlockSize: 512 }, flags: ADD_FLAGS.unprivileged }),
    };
    expect(() => planAdd({ ...defaults, type: '/etc/hostname' }, module)).toThrow(
      /the greedy target's plan asks for UBLK_F_\* 0x20 beyond its requests \(0x0\): a bug in that target/,
    );
  });
});

describe('tsublk on a kernel without ublk_drv (this host)', () => {
  it.runIf(!existsSync('/dev/ublk-control'))(
    `says why in one line, with a non-zero exit: ${ublkInKernel().state === 'absent' ? 'built without ublk, so not modprobe but the VM' : 'load the module'}`,
    () => {
      const bin = fileURLToPath(new URL('../../bin/tsublk', import.meta.url));
      const result = spawnSync(process.execPath, [bin, 'add', '-t', 'null'], { encoding: 'utf8' });
      expect(result.status).toBe(1);
      expect(result.stderr).toBe(`tsublk: ${missingControlAdvice('/dev/ublk-control')}\n`);
    },
  );

  it.each([
    ['CONFIG_BLK_DEV_UBLK=m', 'module', /ublk_drv is not loaded \(run: modprobe ublk_drv\)$/],
    [
      'CONFIG_BLK_DEV_UBLK=y',
      'builtin',
      /built into this kernel \(\/proc\/config\.gz\): is devtmpfs mounted on \/dev\?$/,
    ],
    [
      '# CONFIG_BLK_DEV_UBLK is not set',
      'absent',
      /was built without ublk \(CONFIG_BLK_DEV_UBLK is not set, says \/proc\/config\.gz\), so modprobe cannot help: run tsublk in a VM .*npm run vm/,
    ],
  ] as const)('reads %s from the kernel config as %s, and says what to do', (line, state, advice) => {
    const found = ublkInConfig(`CONFIG_BLOCK=y\n${line}\nCONFIG_BLK_DEV_NBD=m\n`, '/proc/config.gz');
    expect(found.state).toBe(state);
    expect(missingControlAdvice('/dev/ublk-control', found)).toMatch(advice);
  });
});
