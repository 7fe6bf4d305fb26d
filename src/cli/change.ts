import { UblkError } from '../ublk/errors.js';
import { requestControl } from './control-socket.js';
import { printOut } from './output.js';
import { parseSize } from './sizes.js';

/** `set -n ID --mbps N …` and `power -n ID off|on`: changes a running device's settings through its daemon; prints them as they now stand. */
export async function changeDevice(
  devId: number,
  values: Readonly<Record<string, number | string>>,
  json: boolean,
): Promise<void> {
  if (Object.keys(values).length === 0)
    throw new UblkError('name a setting to change: e.g. tsublk set -n 0 --mbps 50 (see tsublk set --help)');
  const config = await requestControl(devId, { change: values });
  printOut(json ? JSON.stringify(config, null, 2) + '\n' : `dev id ${devId}: config ${JSON.stringify(config)}\n`);
}

/**
 * `resize -n ID --size SIZE [--truncate]`: the device's daemon resizes its target's backing, then
 * the disk (UPDATE_SIZE); prints the target's configuration as it now stands.
 */
export async function resizeDevice(devId: number, size: string, truncate: boolean, json: boolean): Promise<void> {
  let sizeBytes: number;
  try {
    sizeBytes = parseSize(size);
  } catch (error) {
    throw new UblkError((error as Error).message); // one line that names the fix already
  }
  const config = await requestControl(devId, { resize: { sizeBytes, truncate } });
  printOut(
    json
      ? JSON.stringify(config, null, 2) + '\n'
      : `dev id ${devId}: size ${sizeBytes} bytes, config ${JSON.stringify(config)}\n`,
  );
}
