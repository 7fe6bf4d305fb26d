// The VM harness's tool runner: output captured, or (a tool's own progress meter) on our stderr.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { VmError, runTool } from '../../vm/host-tools.js';

const hostTools = new URL('../../dist/vm/host-tools.js', import.meta.url).href;

describe('runTool', () => {
  it("returns a tool's stdout, and throws its last stderr lines when it fails", () => {
    expect(runTool('echo', ['hello'])).toBe('hello\n');
    expect(() => runTool('sh', ['-c', 'echo broken >&2; exit 3'])).toThrow(VmError);
    expect(() => runTool('sh', ['-c', 'echo broken >&2; exit 3'])).toThrow(/failed \(exit 3\):\n {2}broken/);
  });

  it("with meter, sends the tool's stdout to this process's stderr (where a terminal shows it) and returns nothing", () => {
    // A process of its own: the stderr that receives it must be one the test can read.
    const script = `import { runTool } from '${hostTools}'; const out = runTool('echo', ['drawn'], { meter: true }); console.log('returned[' + out + ']');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.stderr).toBe('drawn\n');
    expect(child.stdout).toBe('returned[]\n');
  });
});
