import { UblksrvCtrlDevInfo as F } from '../../native-bindings/ublk_cmd.js';
import { getU64, setU64 } from '../../native-bindings/u64.js';

/** struct ublksrv_ctrl_dev_info, decoded. */
export interface DeviceInfo {
  readonly devId: number;
  readonly queues: number;
  readonly depth: number;
  /** UBLK_S_DEV_*. */
  readonly state: number;
  readonly maxIoBufBytes: number;
  readonly ublksrvPid: number;
  /** UBLK_F_* (all below 2^53). */
  readonly flags: number;
  readonly ublksrvFlags: number;
  readonly ownerUid: number;
  readonly ownerGid: number;
}

export function encodeDeviceInfo(info: DeviceInfo): Uint8Array {
  const bytes = new Uint8Array(F.size);
  const view = new DataView(bytes.buffer);
  view.setUint16(F.nr_hw_queues, info.queues, true);
  view.setUint16(F.queue_depth, info.depth, true);
  view.setUint16(F.state, info.state, true);
  view.setUint32(F.max_io_buf_bytes, info.maxIoBufBytes, true);
  view.setUint32(F.dev_id, info.devId >>> 0, true);
  view.setInt32(F.ublksrv_pid, info.ublksrvPid, true);
  setU64(view, F.flags, info.flags);
  setU64(view, F.ublksrv_flags, info.ublksrvFlags);
  view.setUint32(F.owner_uid, info.ownerUid, true);
  view.setUint32(F.owner_gid, info.ownerGid, true);
  return bytes;
}

export function decodeDeviceInfo(bytes: Uint8Array): DeviceInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, F.size);
  return {
    queues: view.getUint16(F.nr_hw_queues, true),
    depth: view.getUint16(F.queue_depth, true),
    state: view.getUint16(F.state, true),
    maxIoBufBytes: view.getUint32(F.max_io_buf_bytes, true),
    devId: view.getUint32(F.dev_id, true),
    ublksrvPid: view.getInt32(F.ublksrv_pid, true),
    flags: getU64(view, F.flags),
    ublksrvFlags: getU64(view, F.ublksrv_flags),
    ownerUid: view.getUint32(F.owner_uid, true),
    ownerGid: view.getUint32(F.owner_gid, true),
  };
}
