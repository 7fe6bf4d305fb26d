import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runTool } from './host-tools.js';

const defaultMirror = 'http://deb.debian.org/debian';
const keyring = '/usr/share/keyrings/debian-archive-keyring.gpg';

/**
 * One Debian suite seen through a private apt configuration in `dir`: its own sources list,
 * package lists and download cache, and no status file, so the host's apt setup is never
 * read or changed. Used to fetch guest kernels (and UAPI headers) from any suite.
 */
export class DebianArchive {
  private readonly options: string[];

  constructor(
    readonly suite: string,
    dir: string,
    mirror: string = process.env['TSUBLK_DEBIAN_MIRROR'] ?? defaultMirror,
  ) {
    const sourcesList = path.join(dir, 'sources.list');
    for (const sub of ['lists/partial', 'cache/archives/partial']) mkdirSync(path.join(dir, sub), { recursive: true });
    writeFileSync(sourcesList, `deb [signed-by=${keyring}] ${mirror} ${suite} main\n`);
    this.options = [
      `Dir::Etc::SourceList=${sourcesList}`,
      'Dir::Etc::SourceParts=/dev/null',
      'Dir::Etc::Preferences=/dev/null',
      'Dir::Etc::PreferencesParts=/dev/null',
      `Dir::State::Lists=${path.join(dir, 'lists')}`,
      `Dir::Cache=${path.join(dir, 'cache')}`,
      'Dir::State::status=/dev/null',
      'Debug::NoLocking=1',
      'APT::Architecture=amd64',
      'APT::Sandbox::User=root',
    ].flatMap((option) => ['-o', option]);
  }

  /** Fetches the suite's package index. */
  update(): void {
    runTool('apt-get', [...this.options, '-q', 'update']);
  }

  /** The candidate version's `Depends:` of a package, as package names. */
  dependencies(pkg: string): string[] {
    const record = runTool('apt-cache', [...this.options, 'show', '--no-all-versions', pkg]);
    const line = record.split('\n').find((l) => l.startsWith('Depends:')) ?? '';
    return line
      .slice('Depends:'.length)
      .split(/[,|]/)
      .map((alternative) => alternative.trim().split(/\s/)[0] ?? '')
      .filter((name) => name.length > 0);
  }

  /**
   * Downloads packages into `destDir` and returns the .deb paths. On a terminal, apt draws its
   * meter there (percent, speed, time left: about 100 MB for a kernel); elsewhere it is quiet.
   */
  download(packages: readonly string[], destDir: string): string[] {
    mkdirSync(destDir, { recursive: true });
    const meter = process.stderr.isTTY === true;
    runTool('apt-get', [...this.options, ...(meter ? [] : ['-q']), 'download', ...packages], { cwd: destDir, meter });
    return readdirSync(destDir)
      .filter((f) => f.endsWith('.deb'))
      .map((f) => path.join(destDir, f));
  }
}
