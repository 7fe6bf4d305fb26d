import { UblkError } from '../ublk/errors.js';
import { requestControl } from './control-socket.js';
import { printOut } from './output.js';

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
