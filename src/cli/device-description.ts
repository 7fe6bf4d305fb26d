import { printOut } from './output.js';

/** How `list` shows a device, in both its forms: the daemon's report carries it, so `add` and `recover` print it without speaking to the kernel again. */
export interface DeviceDescription {
  readonly text: string;
  readonly json: unknown;
}

/** Prints a described device as `list -n ID [--json]` would. */
export function printDescription(device: DeviceDescription, json: boolean): void {
  printOut(json ? JSON.stringify([device.json], null, 2) + '\n' : device.text + '\n');
}
