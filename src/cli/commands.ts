// What the commands do beyond parsing, as lazy loaders: main.ts reaches them once a command is
// known to run, so `--help` and a bad option never read this; and each loader evaluates only its
// own command's modules (checking an add loads no FFI). The build makes this a bundle of its own.
export const plan = () => import('./plan.js');
export const serveForeground = () => import('./serve-foreground.js');
export const startDaemon = () => import('./start-daemon.js');
export const deleting = () => import('./delete.js');
export const listing = () => import('./list.js');
export const statistics = () => import('./stats.js');
export const change = () => import('./change.js');
export const features = () => import('./features.js');
export const udev = () => import('./udev.js');
