import { UBLK_F_BIT } from '../../native-bindings/ublk_cmd.js';
import { featureNames } from '../ublk/features.js';
import { flagsTsublkRequests } from './plan.js';
import { withControl } from './control-access.js';
import { kernelRelease } from './system.js';
import { printOut } from './output.js';

/** `features [--json]`: the running kernel's ublk features, and which tsublk uses. */
export function features(json: boolean): void {
  const supported = withControl((control) => control.features);
  // Derived from what the code asks for (add's options, data paths, targets' plans), not a list.
  const used = flagsTsublkRequests();
  const rows = Object.entries(UBLK_F_BIT).map(([name, bit]) => ({
    name,
    bit,
    supported: Math.floor(supported / 2 ** bit) % 2 === 1,
    used: Math.floor(used / 2 ** bit) % 2 === 1,
  }));
  if (json) {
    printOut(
      JSON.stringify({ kernel: kernelRelease(), features: supported, names: featureNames(supported), rows }, null, 2) +
        '\n',
    );
    return;
  }
  printOut(`ublk features of Linux ${kernelRelease()}: 0x${supported.toString(16)}\n`);
  for (const row of rows)
    printOut(`\t${row.name.padEnd(24)} ${row.supported ? 'yes' : 'no '}${row.used ? '  used by tsublk' : ''}\n`);
}
