import { describe, expect, it } from 'vitest';
import { UBLK_F, UBLK_PARAM_TYPE } from '../../native-bindings/ublk_cmd.js';
import { controlOpcode } from '../../src/ublk/control.js';
import { decodeDeviceInfo, encodeDeviceInfo } from '../../src/ublk/device-info.js';
import { featureNames, featureSince, unknownFeatureBits } from '../../src/ublk/features.js';
import { decodeParams, encodeParams, paramsForDisk } from '../../src/ublk/params.js';
import { UserDataKind, encodeUserData, userDataKind, userDataTag, userDataValue } from '../../src/ublk/user-data.js';

describe('control opcodes', () => {
  it('use the ioctl encoding where the kernel has it', () => {
    expect(controlOpcode('ADD_DEV', true)).toBe(0xc0207504);
    expect(controlOpcode('GET_DEV_INFO', true)).toBe(0x80207502);
    expect(controlOpcode('START_DEV', true)).toBe(0xc0207506);
  });

  it('fall back to the legacy numbers before Linux 6.4 (no such kernel boots here, so this pins them)', () => {
    expect(
      [
        'GET_QUEUE_AFFINITY',
        'GET_DEV_INFO',
        'ADD_DEV',
        'DEL_DEV',
        'START_DEV',
        'STOP_DEV',
        'SET_PARAMS',
        'GET_PARAMS',
        'START_USER_RECOVERY',
        'END_USER_RECOVERY',
        'GET_DEV_INFO2',
      ].map((c) => controlOpcode(c as never, false)),
    ).toEqual([0x01, 0x02, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x10, 0x11, 0x12]);
    // Commands that exist only in the ioctl encoding keep it.
    expect(controlOpcode('GET_FEATURES', false)).toBe(0x80207513);
  });
});

describe('struct codecs', () => {
  it('round-trip ublksrv_ctrl_dev_info, flags above 2^32 included', () => {
    const info = {
      devId: 7,
      queues: 4,
      depth: 256,
      state: 1,
      maxIoBufBytes: 524288,
      ublksrvPid: 1234,
      flags: UBLK_F.USER_COPY + 2 ** 40,
      ublksrvFlags: 5,
      ownerUid: 1000,
      ownerGid: 100,
    };
    const bytes = encodeDeviceInfo(info);
    expect(bytes.length).toBe(64);
    expect(decodeDeviceInfo(bytes)).toEqual(info);
  });

  it('round-trip ublk_params and derive them from a disk', () => {
    const params = paramsForDisk(
      {
        sizeBytes: 2 ** 40,
        logicalBlockSize: 4096,
        rotational: true,
        volatileCache: true,
        fua: true,
        discard: { granularity: 4096, maxSectors: 1 << 20, maxWriteZeroesSectors: 1 << 20, maxSegments: 1 },
      },
      524288,
    );
    expect(params).toMatchObject({
      types: UBLK_PARAM_TYPE.BASIC | UBLK_PARAM_TYPE.DISCARD,
      logicalBlockShift: 12,
      maxSectors: 1024,
      devSectors: 2 ** 31,
    });
    const bytes = encodeParams(params);
    expect(new DataView(bytes.buffer).getUint32(0, true)).toBe(152);
    expect(decodeParams(bytes)).toEqual(params);
  });

  it('name feature flags', () => {
    expect(featureNames(0x42)).toEqual(['URING_CMD_COMP_IN_TASK', 'CMD_IOCTL_ENCODE']);
    expect(featureNames(0x1fe)).toHaveLength(8);
  });

  it('names the release of every bit, and keeps the bits it has no name for (a newer kernel) by number', () => {
    expect(featureSince.USER_RECOVERY_FAIL_IO).toBe('6.13');
    expect(featureSince.BATCH_IO).toBe('7.0');
    // sid's 7.2 reports bits 0-19 (0xfffff): all named. 7.3's IO_DESC_SIZE is bit 20.
    expect(unknownFeatureBits(0xfffff)).toEqual([]);
    expect(featureNames(0xfffff)).toHaveLength(20);
    expect(unknownFeatureBits(0xfffff + 2 ** 20 + 2 ** 40)).toEqual([20, 40]);
  });
});

describe('user_data encoding', () => {
  it('keeps tag, kind and the target value apart, within 32 bits', () => {
    for (const [tag, kind, value] of [
      [0, 0, 0],
      [4095, 1, 0],
      [65535, 1, 16383],
      [12, 0, 77],
    ] as const) {
      const userData = encodeUserData(tag, kind, value);
      expect(userData).toBeLessThan(2 ** 32);
      expect([userDataTag(userData), userDataKind(userData), userDataValue(userData)]).toEqual([tag, kind, value]);
    }
    expect(UserDataKind.UblkCommand).not.toBe(UserDataKind.TargetIo);
  });
});
