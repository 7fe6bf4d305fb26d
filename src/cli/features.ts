import { UBLK_F_BIT } from '../../native-bindings/ublk_cmd.js';
import { featureNames, featureSince, unknownFeatureBits } from '../ublk/features.js';
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
    since: featureSince[name as keyof typeof UBLK_F_BIT],
    supported: Math.floor(supported / 2 ** bit) % 2 === 1,
    used: Math.floor(used / 2 ** bit) % 2 === 1,
  }));
  // A kernel newer than these tables: its bits are shown by number, never dropped.
  const unknown = unknownFeatureBits(supported);
  if (json) {
    printOut(
      JSON.stringify(
        { kernel: kernelRelease(), features: supported, names: featureNames(supported), unknownBits: unknown, rows },
        null,
        2,
      ) + '\n',
    );
    return;
  }
  printOut(`ublk features of Linux ${kernelRelease()}: 0x${supported.toString(16)}\n`);
  printOut(`\t${'feature'.padEnd(24)} since  here  tsublk\n`);
  for (const row of rows)
    printOut(
      `\t${row.name.padEnd(24)} ${row.since.padEnd(6)} ${row.supported ? 'yes ' : 'no  '}  ${row.used ? 'used' : ''}\n`.trimEnd() +
        '\n',
    );
  for (const bit of unknown) printOut(`\tunknown bit ${bit}: newer than this tsublk\n`);
}
