import { fileURLToPath } from 'node:url';

const binPath = fileURLToPath(new URL('../../../bin/tsublk', import.meta.url));

/**
 * The systemd template unit `tsublk@.service`, with this installation's paths: instance NAME
 * serves the device /etc/tsublk/NAME.json describes, in the foreground, and tells systemd when it
 * is LIVE (Type=notify). A bad config is not retried (exit status 2); a failure is, after 5 s.
 */
export function systemdUnit(): string {
  return [
    "# tsublk: one ublk device per instance, described by /etc/tsublk/<instance>.json (add's options).",
    '# Install: sudo tsublk systemd-unit | sudo tee /etc/systemd/system/tsublk@.service && sudo systemctl daemon-reload',
    '# Then:    echo \'{"type": "memory", "size": "1G", "backing": "/var/lib/tsublk/disk0.img", "number": 0}\' | sudo tee /etc/tsublk/disk0.json',
    '#          sudo systemctl enable --now tsublk@disk0',
    '[Unit]',
    'Description=tsublk block device %i (/etc/tsublk/%i.json)',
    'Documentation=https://www.kernel.org/doc/html/latest/block/ublk.html',
    'After=local-fs.target systemd-udevd.service',
    'Wants=systemd-udevd.service',
    'ConditionPathExists=/etc/tsublk/%i.json',
    '',
    '[Service]',
    'Type=notify',
    'NotifyAccess=main',
    'ExecStartPre=-/sbin/modprobe ublk_drv',
    `ExecStart=${process.execPath} ${binPath} add --foreground --config /etc/tsublk/%i.json`,
    'KillMode=mixed',
    'TimeoutStopSec=60',
    'Restart=on-failure',
    'RestartSec=5',
    'RestartPreventExitStatus=2',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}
