import { missingControlAdvice } from './kernel-config.js';
import { existsSync } from 'node:fs';
import { errnoName } from '../../native-bindings/errors.js';
import { O, close, open } from '../../native-bindings/libc.js';
import { markStart } from '../start-trace.js';
import {
  UBLK_CMD,
  UBLK_F,
  UBLK_F_BIT,
  UBLK_U_CMD,
  UblksrvCtrlCmd,
  UblksrvCtrlDevInfo,
} from '../../native-bindings/ublk_cmd.js';
import { getU64, high32 } from '../../native-bindings/u64.js';
import { HostMemory } from '../../native-bindings/host-memory.js';
import { Ring } from '../uring/ring.js';
import { charDevicePath } from './device-nodes.js';
import { type DeviceInfo, decodeDeviceInfo, encodeDeviceInfo } from './device-info.js';
import { UblkError } from './errors.js';
import { commandFeatures, lacksFeature } from './features.js';
import { type UblkParams, decodeParams, encodeParams, paramsBufferSize } from './params.js';

export const controlPath = '/dev/ublk-control';
const ANY_QUEUE = 0xffff;

/** The commands that exist only in the ioctl encoding (6.5 and later). */
type IoctlOnlyCommand = Exclude<keyof typeof UBLK_U_CMD, keyof typeof UBLK_CMD>;
export type ControlCommand = keyof typeof UBLK_U_CMD;

function ioctlOnly(command: ControlCommand): command is IoctlOnlyCommand {
  return !(command in UBLK_CMD);
}

/**
 * The opcode of a control command: ioctl-encoded (UBLK_U_CMD_*, Linux 6.4+) or the legacy number
 * that older kernels know. GET_FEATURES, DEL_DEV_ASYNC and every later command exist only in the
 * ioctl encoding.
 */
export function controlOpcode(command: ControlCommand, ioctlEncoding: boolean): number {
  if (ioctlEncoding || ioctlOnly(command)) return UBLK_U_CMD[command];
  return UBLK_CMD[command];
}

/**
 * /dev/ublk-control: adds, configures, starts, stops and deletes ublk devices. Each command is a
 * URING_CMD on a small SQE128 ring, waited for synchronously (these are rare, slow commands).
 */
export class ControlDevice {
  /** The running kernel's UBLK_F_* features, from GET_FEATURES (0 before Linux 6.5). */
  readonly features: number;
  private readonly ioctlEncoding: boolean;
  private readonly buffer = new HostMemory(4096, 'ublk control buffer');
  /** Where the last command's payload (and so its reply) starts in the buffer: after any device path. */
  private replyOffset = 0;
  /** A caller without CAP_SYS_ADMIN can reach only unprivileged devices, which all want their path. */
  private readonly everyDeviceWantsPath = process.geteuid?.() !== 0;
  /** Devices known to be unprivileged (UBLK_F_UNPRIVILEGED_DEV): even root must name their path. */
  private readonly unprivilegedDevices = new Set<number>();

  private constructor(
    private readonly fd: number,
    private readonly ring: Ring,
  ) {
    let features: number;
    try {
      features = this.getFeatures(true);
    } catch {
      features = 0; // Before 6.5 there is no GET_FEATURES, and only the legacy encoding is sure.
    }
    this.features = features;
    this.ioctlEncoding = (features & UBLK_F.CMD_IOCTL_ENCODE) !== 0;
  }

  static open(): ControlDevice {
    if (!existsSync(controlPath)) {
      throw new UblkError(missingControlAdvice(controlPath));
    }
    let fd: number;
    try {
      fd = open(controlPath, O.RDWR);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'EACCES' || code === 'EPERM')
        throw new UblkError(
          `cannot open ${controlPath} (${code}): run as root, or use --unprivileged with access to it`,
        );
      throw error;
    }
    try {
      const control = new ControlDevice(fd, Ring.create(4, { sqe128: true }));
      markStart('control device open (its ring set up)');
      return control;
    } catch (error) {
      close(fd);
      throw error;
    }
  }

  close(): void {
    this.ring.close();
    this.buffer.free();
    close(this.fd);
  }

  /** Whether a command names /dev/ublkcN, as the kernel asks for unprivileged devices and GET_DEV_INFO2. */
  private wantsPath(name: ControlCommand, devId: number): boolean {
    if (name === 'ADD_DEV' || name === 'GET_FEATURES') return false;
    return name === 'GET_DEV_INFO2' || this.everyDeviceWantsPath || this.unprivilegedDevices.has(devId);
  }

  /**
   * Sends one command and returns its result (≥ 0). `payload` is copied into the shared buffer
   * (whose address the command carries) before, and the buffer's bytes are returned in `reply`.
   * Where the kernel wants the device's path, the buffer starts with it and the payload follows.
   */
  private command(
    name: ControlCommand,
    devId: number,
    options: { queueId?: number; length?: number; data?: number; payload?: Uint8Array; opcodeOverride?: number } = {},
  ): number {
    this.assertSupported(name);
    const path = this.wantsPath(name, devId) ? charDevicePath(devId) : '';
    const pathBytes = new TextEncoder().encode(path);
    this.replyOffset = pathBytes.length;
    this.buffer.bytes.set(pathBytes, 0);
    const length = options.length ?? 0;
    if (options.payload !== undefined) this.buffer.bytes.set(options.payload, pathBytes.length);
    else this.buffer.bytes.fill(0, pathBytes.length, pathBytes.length + length);
    const total = pathBytes.length + length;
    const sqe = this.ring.getSqe();
    const opcode = options.opcodeOverride ?? controlOpcode(name, this.ioctlEncoding);
    const cmd = this.ring.prepUringCmd(sqe, this.fd, opcode, 1);
    // SAFETY: cmd indexes the 80-byte command area of an SQE128 slot handed out by getSqe().
    const w = this.ring.sqeWords;
    w[cmd + UblksrvCtrlCmd.dev_id / 4] = devId >>> 0;
    w[cmd + UblksrvCtrlCmd.queue_id / 4] = ((options.queueId ?? ANY_QUEUE) & 0xffff) | ((total & 0xffff) << 16);
    const address = total > 0 ? this.buffer.address : 0;
    w[cmd + UblksrvCtrlCmd.addr / 4] = address >>> 0;
    w[cmd + UblksrvCtrlCmd.addr / 4 + 1] = high32(address);
    const data = options.data ?? 0;
    w[cmd + UblksrvCtrlCmd.data / 4] = data >>> 0;
    w[cmd + UblksrvCtrlCmd.data / 4 + 1] = high32(data);
    // dev_path_len (u16) shares its word with pad (u16, zero).
    w[cmd + UblksrvCtrlCmd.dev_path_len / 4] = pathBytes.length;
    w[cmd + UblksrvCtrlCmd.reserved / 4] = 0;
    this.ring.submitAndWait(1);
    let result = 0;
    while (this.ring.drainCompletions((_userData, res) => (result = res)) === 0) this.ring.submitAndWait(1);
    if (result < 0) throw new ControlCommandError(name, devId, -result);
    return result;
  }

  /**
   * A command of a newer feature (commandFeatures) is refused by name where this kernel lacks it;
   * `fix` (what to do instead) defaults to naming the command.
   */
  assertSupported(name: ControlCommand, fix = `${name} needs it`): void {
    const feature = (commandFeatures as Partial<Record<ControlCommand, keyof typeof UBLK_F_BIT>>)[name];
    if (feature === undefined || Math.floor(this.features / 2 ** UBLK_F_BIT[feature]) % 2 === 1) return;
    throw lacksFeature(feature, fix);
  }

  private reply(length: number): Uint8Array {
    return this.buffer.bytes.slice(this.replyOffset, this.replyOffset + length);
  }

  private getFeatures(probe: boolean): number {
    this.command('GET_FEATURES', 0xffff_ffff, {
      length: 8,
      ...(probe ? { opcodeOverride: UBLK_U_CMD.GET_FEATURES } : {}),
    });
    // Feature bits above 2^52 do not exist, so the u64 is exact as a number.
    return getU64(new DataView(this.reply(8).buffer), 0);
  }

  /** ADD_DEV: creates the device (state DEAD until START_DEV); returns what the kernel made of it. */
  addDevice(info: Pick<DeviceInfo, 'devId' | 'queues' | 'depth' | 'maxIoBufBytes' | 'flags'>): DeviceInfo {
    const payload = encodeDeviceInfo({ ...info, state: 0, ublksrvPid: 0, ublksrvFlags: 0, ownerUid: 0, ownerGid: 0 });
    this.command('ADD_DEV', info.devId, { length: UblksrvCtrlDevInfo.size, payload });
    return this.remember(decodeDeviceInfo(this.reply(UblksrvCtrlDevInfo.size)));
  }

  /** Notes an unprivileged device, whose later commands must carry its path. */
  private remember(info: DeviceInfo): DeviceInfo {
    if ((info.flags & UBLK_F.UNPRIVILEGED_DEV) !== 0) this.unprivilegedDevices.add(info.devId);
    return info;
  }

  /**
   * GET_DEV_INFO. Root asking about another user's unprivileged device gets EINVAL (its path was
   * missing): then GET_DEV_INFO2, which always carries it, answers and the device is remembered.
   */
  getDeviceInfo(devId: number): DeviceInfo {
    try {
      this.command('GET_DEV_INFO', devId, { length: UblksrvCtrlDevInfo.size });
    } catch (error) {
      if (!(error instanceof ControlCommandError && error.code === 'EINVAL' && this.features !== 0)) throw error;
      return this.getDeviceInfo2(devId);
    }
    return this.remember(decodeDeviceInfo(this.reply(UblksrvCtrlDevInfo.size)));
  }

  /** GET_DEV_INFO2: the same answer, with the permission check unprivileged devices need. */
  getDeviceInfo2(devId: number): DeviceInfo {
    this.command('GET_DEV_INFO2', devId, { length: UblksrvCtrlDevInfo.size });
    return this.remember(decodeDeviceInfo(this.reply(UblksrvCtrlDevInfo.size)));
  }

  setParams(devId: number, params: UblkParams): void {
    this.command('SET_PARAMS', devId, { length: paramsBufferSize, payload: encodeParams(params) });
  }

  getParams(devId: number): UblkParams {
    const request = new Uint8Array(paramsBufferSize);
    new DataView(request.buffer).setUint32(0, paramsBufferSize, true); // len: what we can take
    this.command('GET_PARAMS', devId, { length: paramsBufferSize, payload: request });
    return decodeParams(this.reply(paramsBufferSize));
  }

  /** START_DEV: blocks until every queue has fetched every tag; never call it from a queue's thread. */
  startDevice(devId: number, daemonPid: number): void {
    this.command('START_DEV', devId, { data: daemonPid });
  }

  /** START_USER_RECOVERY: the device (QUIESCED or FAIL_IO) waits for a new daemon's queues. EBUSY while the old one's char device is open. */
  startUserRecovery(devId: number): void {
    this.command('START_USER_RECOVERY', devId);
  }

  /** END_USER_RECOVERY: blocks until every queue has fetched every tag, then the device is LIVE with `daemonPid`. */
  endUserRecovery(devId: number, daemonPid: number): void {
    this.command('END_USER_RECOVERY', devId, { data: daemonPid });
  }

  stopDevice(devId: number): void {
    this.command('STOP_DEV', devId);
  }

  /**
   * TRY_STOP_DEV (UBLK_F_SAFE_STOP_DEV, 7.0): stops the device only if nobody has its disk open;
   * EBUSY (and nothing changed) while a mount or a process holds it.
   */
  tryStopDevice(devId: number): void {
    this.command('TRY_STOP_DEV', devId);
  }

  /**
   * QUIESCE_DEV (UBLK_F_QUIESCE, 6.16; the device needs that flag and USER_RECOVERY): new I/O is
   * held, the daemon finishes what it has, then its fetches end with ABORT and the device waits
   * QUIESCED for a new daemon. EBUSY when that takes longer than `timeoutMs`.
   */
  quiesceDevice(devId: number, timeoutMs: number): void {
    this.command('QUIESCE_DEV', devId, { data: timeoutMs });
  }

  /** UPDATE_SIZE (UBLK_F_UPDATE_SIZE, 6.16): the live disk's capacity becomes `sectors` (512-byte). */
  updateSize(devId: number, sectors: number): void {
    this.command('UPDATE_SIZE', devId, { data: sectors });
  }

  /** DEL_DEV: waits until /dev/ublkcN and /dev/ublkbN are closed by everyone. */
  deleteDevice(devId: number): void {
    this.command('DEL_DEV', devId);
  }

  /**
   * DEL_DEV_ASYNC: deletes without waiting for the last opener to close the device (the kernel
   * finishes when it does). Falls back to DEL_DEV on kernels without it.
   */
  deleteDeviceAsync(devId: number): void {
    try {
      this.command('DEL_DEV_ASYNC', devId);
    } catch (error) {
      if (
        error instanceof ControlCommandError &&
        (error.code === 'EOPNOTSUPP' || error.code === 'EINVAL' || error.code === 'ENOTTY')
      )
        this.deleteDevice(devId);
      else throw error;
    }
  }

  /** The CPUs the kernel suggests for a queue (GET_QUEUE_AFFINITY). */
  queueAffinity(devId: number, queueId: number): number[] {
    const bytes = 128; // a 1024-CPU mask, a multiple of 8 bytes as the kernel requires
    this.command('GET_QUEUE_AFFINITY', devId, { length: bytes, data: queueId });
    const mask = this.reply(bytes);
    const cpus: number[] = [];
    mask.forEach((byte, index) => {
      for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) cpus.push(index * 8 + bit);
    });
    return cpus;
  }
}

/** A control command the kernel refused, with its errno. */
export class ControlCommandError extends UblkError {
  constructor(
    readonly command: string,
    readonly devId: number,
    readonly errno: number,
  ) {
    super(
      `${command} for device ${devId === 0xffff_ffff ? 'any' : devId}: ${errnoName(errno)}`,
      errnoName(errno) as `E${string}`,
    );
  }
}
