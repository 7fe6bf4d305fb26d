import { describe, expect, it } from 'vitest';
import { moduleLoadOrder, moduleName } from '../../vm/initramfs.js';

// The shape of Debian 6.12's modules.dep for the modules the initramfs loads.
const modulesDep = [
  'kernel/fs/netfs/netfs.ko.xz:',
  'kernel/net/9p/9pnet.ko.xz: kernel/fs/netfs/netfs.ko.xz',
  'kernel/net/9p/9pnet_virtio.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko.xz',
  'kernel/fs/9p/9p.ko.xz: kernel/net/9p/9pnet.ko.xz kernel/fs/netfs/netfs.ko.xz',
  'kernel/fs/overlayfs/overlay.ko.xz:',
  'kernel/drivers/block/null_blk/null_blk.ko.xz: kernel/fs/configfs/configfs.ko.xz',
  '',
].join('\n');

describe('moduleLoadOrder', () => {
  it('loads dependencies first, each module once', () => {
    expect(moduleLoadOrder(modulesDep, ['9pnet_virtio', '9p', 'overlay'])).toEqual([
      'kernel/fs/netfs/netfs.ko.xz',
      'kernel/net/9p/9pnet.ko.xz',
      'kernel/net/9p/9pnet_virtio.ko.xz',
      'kernel/fs/9p/9p.ko.xz',
      'kernel/fs/overlayfs/overlay.ko.xz',
    ]);
  });

  it('skips modules built into the kernel (absent from modules.dep)', () => {
    expect(moduleLoadOrder(modulesDep, ['virtio_console', 'overlay'])).toEqual(['kernel/fs/overlayfs/overlay.ko.xz']);
  });

  it('names modules the way the kernel does', () => {
    expect(moduleName('kernel/drivers/block/ublk_drv.ko.xz')).toBe('ublk_drv');
    expect(moduleName('kernel/drivers/tty/serial/8250/8250-lpss.ko.zst')).toBe('8250_lpss');
  });
});
