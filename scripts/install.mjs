#!/usr/bin/env node
// System install of the redbear-greeter stack (docs/install.md).
//
//   node scripts/install.mjs [--prefix /usr] [--destdir DIR] [--sysconfdir /etc] [--ui-binary PATH]
//   node scripts/install.mjs --uninstall [--prefix /usr] [--destdir DIR]
//
// Installs the built JS (run `npm run build` first) with its production node_modules into
// <prefix>/lib/redbear-greeter/, shell wrappers into <prefix>/bin/, the branding assets into
// <prefix>/share/redbear/greeter/, systemd units, sysusers.d and tmpfiles.d files into
// <prefix>/lib/, and the default configuration into <sysconfdir>/redbear/ (never overwriting
// a file the administrator edited). Everything written is recorded in
// <prefix>/lib/redbear-greeter/install-manifest.json; --uninstall removes exactly that
// (configuration files only when unchanged). Nothing here needs the network.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const MANIFEST_NAME = 'install-manifest.json';

/** Workspace packages installed under <libdir>/<dir> and resolvable as @redbear/<dir>. */
export const WORKSPACES = ['protocol', 'daemons', 'cli', 'electron', 'renderer'];
/** Workspaces whose npm dependencies run in Node (the renderer is a Vite bundle). */
const NODE_WORKSPACES = ['protocol', 'daemons', 'cli', 'electron'];

/** Every command the stack ships: wrapper name → entry point relative to <libdir>. */
export const BINARIES = {
  'redbear-keystored': 'daemons/dist/keystored/main.js',
  'redbear-authd': 'daemons/dist/authd/main.js',
  'redbear-sessiond': 'daemons/dist/sessiond/main.js',
  'redbear-greeterd': 'daemons/dist/greeterd/main.js',
  'redbear-session-launch': 'daemons/dist/session-launch/main.js',
  'redbear-greeter-ui': 'electron/dist/main/main.js',
  'redbear-greeter-web': 'electron/dist/web-shell/main.js',
  'nx-user': 'cli/dist/nx-user/main.js',
  'nx-session': 'cli/dist/nx-session/main.js',
  'nx-home': 'cli/dist/nx-home/main.js',
  'redbear-greeter-check': 'cli/dist/greeter-check/main.js',
  'redbear-selftest': 'cli/dist/selftest/main.js',
};
/** Daemons whose unit passes `--config <sysconfdir>/redbear/<name>.toml`. */
export const DAEMON_CONFIGS = ['keystored', 'authd', 'sessiond', 'greeterd'];
export const UNITS = ['redbear-keystored.service', 'redbear-authd.service', 'redbear-sessiond.service', 'redbear-greeterd.service'];
const ASSETS = ['background.png', 'icon.png'];
/** Build output that is not needed at run time. */
const SKIP_FILE = /\.(map|d\.ts|d\.mts|d\.cts|tsbuildinfo)$/;

const USAGE = `usage: node scripts/install.mjs [options]

  --prefix DIR       installation prefix (default /usr)
  --destdir DIR      stage everything under DIR (packaging; default: the live system)
  --sysconfdir DIR   configuration root (default /etc; <sysconfdir>/redbear/*.toml)
  --ui-binary PATH   make redbear-greeter-ui run this packaged Electron app instead of
                     \`electron <libdir>/electron/dist/main/main.js\`
  --uninstall        remove what a previous install into the same --destdir/--prefix wrote
  -h, --help         this text

Run \`npm run build\` first.`;

class InstallError extends Error {}

function sha256(file) {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

function checkAbs(name, value) {
  if (!path.isAbsolute(value) || path.normalize(value) !== value.replace(/\/+$/, '') || value.split('/').includes('..')) {
    throw new InstallError(`${name} must be a normalized absolute path (got ${JSON.stringify(value)})`);
  }
  return value === '/' ? '/' : value.replace(/\/+$/, '');
}

/** Layout of one install. `destdir` is a host path; every other path is a target path. */
export function layout({ prefix = '/usr', destdir = '/', sysconfdir = '/etc' } = {}) {
  prefix = checkAbs('--prefix', prefix);
  sysconfdir = checkAbs('--sysconfdir', sysconfdir);
  destdir = path.resolve(destdir);
  const libdir = path.posix.join(prefix, 'lib/redbear-greeter');
  return {
    prefix,
    sysconfdir,
    destdir,
    libdir,
    bindir: path.posix.join(prefix, 'bin'),
    assetsdir: path.posix.join(prefix, 'share/redbear/greeter'),
    unitdir: path.posix.join(prefix, 'lib/systemd/system'),
    sysusersdir: path.posix.join(prefix, 'lib/sysusers.d'),
    tmpfilesdir: path.posix.join(prefix, 'lib/tmpfiles.d'),
    confdir: path.posix.join(sysconfdir, 'redbear'),
    manifest: path.posix.join(libdir, MANIFEST_NAME),
    /** Host path of a target path. */
    host: (p) => path.join(destdir, p),
  };
}

function shQuote(s) {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The /bin/sh wrapper for one command. */
export function wrapperText(name, entry, L, uiBinary) {
  const head = `#!/bin/sh\n# ${name}: installed by redbear-greeter scripts/install.mjs\n`;
  if (name === 'redbear-greeter-ui') {
    if (uiBinary) return `${head}exec ${shQuote(uiBinary)} "$@"\n`;
    // Electron is not a runtime dependency of the plain install; a packaged build passes
    // --ui-binary. Without one, use an `electron` on PATH (ELECTRON overrides).
    return `${head}exec "\${ELECTRON:-electron}" ${shQuote(path.posix.join(L.libdir, entry))} "$@"\n`;
  }
  return `${head}exec node ${shQuote(path.posix.join(L.libdir, entry))} "$@"\n`;
}

/** Rewrite the target paths baked into units for another prefix/sysconfdir. */
export function rewriteUnit(text, L) {
  return text.replaceAll('/usr/bin/redbear-', `${L.bindir}/redbear-`).replaceAll('/etc/redbear/', `${L.confdir}/`);
}

/**
 * Production dependencies of the Node workspaces, transitively, as paths relative to the
 * repository (e.g. `node_modules/argon2`), found the way Node resolves them.
 */
export function runtimeDependencies(repo = REPO) {
  const found = new Map(); // repo-relative dir -> true
  const queue = NODE_WORKSPACES.map((w) => path.join(repo, w));
  const seen = new Set();
  while (queue.length) {
    const dir = queue.shift();
    if (seen.has(dir)) continue;
    seen.add(dir);
    const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'));
    const deps = { ...(pkg.dependencies ?? {}), ...(pkg.optionalDependencies ?? {}) };
    for (const name of Object.keys(deps)) {
      if (name.startsWith('@redbear/')) continue;
      const at = resolvePackageDir(dir, name, repo);
      if (!at) {
        if (pkg.optionalDependencies?.[name]) continue; // another platform's build
        throw new InstallError(`${pkg.name}: dependency ${name} is not installed (run npm ci)`);
      }
      const rel = path.relative(repo, at);
      if (!found.has(rel)) {
        found.set(rel, true);
        queue.push(at);
      }
    }
  }
  return [...found.keys()].sort();
}

function resolvePackageDir(from, name, repo) {
  let dir = fs.realpathSync(from);
  // Walk up like Node does, but never above the repository.
  for (;;) {
    const cand = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(cand, 'package.json'))) return cand;
    if (dir === repo || !dir.startsWith(repo + path.sep)) {
      const top = path.join(repo, 'node_modules', name);
      return fs.existsSync(path.join(top, 'package.json')) ? top : null;
    }
    dir = path.dirname(dir);
  }
}

/** Files of a tree (relative), skipping nested node_modules and build leftovers. */
function listTree(root, { skipNodeModules = true } = {}) {
  const out = [];
  const walk = (rel) => {
    for (const ent of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const r = rel ? path.join(rel, ent.name) : ent.name;
      if (ent.isDirectory()) {
        if (skipNodeModules && ent.name === 'node_modules') continue;
        walk(r);
      } else if (ent.isFile() && !SKIP_FILE.test(ent.name)) {
        out.push(r);
      } else if (ent.isSymbolicLink()) {
        const real = fs.realpathSync(path.join(root, r));
        if (fs.statSync(real).isFile() && !SKIP_FILE.test(ent.name)) out.push(r);
      }
    }
  };
  walk('');
  return out.sort();
}

class Recorder {
  constructor(L, dryRun = false) {
    this.L = L;
    this.entries = [];
    this.createdDirs = [];
    this.notes = [];
    this.dryRun = dryRun;
  }
  mkdirp(target) {
    const missing = [];
    for (let d = target; d !== '/' && !fs.existsSync(this.L.host(d)); d = path.posix.dirname(d)) missing.push(d);
    fs.mkdirSync(this.L.host(target), { recursive: true, mode: 0o755 });
    for (const d of missing.reverse()) {
      fs.chmodSync(this.L.host(d), 0o755);
      this.createdDirs.push(d);
    }
  }
  write(target, data, mode, extra = {}) {
    this.mkdirp(path.posix.dirname(target));
    const host = this.L.host(target);
    fs.rmSync(host, { force: true });
    fs.writeFileSync(host, data, { mode });
    fs.chmodSync(host, mode);
    this.entries.push({ path: target, type: 'file', sha256: createHash('sha256').update(data).digest('hex'), ...extra });
  }
  copy(src, target, mode) {
    const st = fs.statSync(src);
    this.write(target, fs.readFileSync(src), mode ?? (st.mode & 0o111 ? 0o755 : 0o644));
  }
  symlink(target, linkText) {
    this.mkdirp(path.posix.dirname(target));
    const host = this.L.host(target);
    fs.rmSync(host, { force: true, recursive: false });
    fs.symlinkSync(linkText, host);
    this.entries.push({ path: target, type: 'symlink', target: linkText });
  }
}

export function install(opts = {}) {
  const L = layout(opts);
  const repo = opts.repo ?? REPO;
  const log = opts.log ?? ((m) => console.log(m));
  if (!fs.existsSync(path.join(repo, 'daemons/dist')) || !fs.existsSync(path.join(repo, 'protocol/dist'))) {
    throw new InstallError('nothing is built: run `npm run build` first');
  }
  const previous = readManifest(L);
  const rec = new Recorder(L);

  // 1. Workspaces: package.json + dist, resolvable as node_modules/@redbear/<name>.
  for (const w of WORKSPACES) {
    const dist = path.join(repo, w, 'dist');
    if (!fs.existsSync(dist)) {
      rec.notes.push(`${w}/dist is not built; skipped`);
      continue;
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(repo, w, 'package.json'), 'utf8'));
    delete pkg.devDependencies;
    delete pkg.scripts;
    rec.write(path.posix.join(L.libdir, w, 'package.json'), JSON.stringify(pkg, null, 2) + '\n', 0o644);
    for (const f of listTree(dist)) rec.copy(path.join(dist, f), path.posix.join(L.libdir, w, 'dist', f));
    rec.symlink(path.posix.join(L.libdir, 'node_modules/@redbear', w), `../../${w}`);
  }

  // 2. Production node_modules (same relative place as in the repository).
  for (const rel of runtimeDependencies(repo)) {
    const src = path.join(repo, rel);
    for (const f of listTree(src)) rec.copy(path.join(src, f), path.posix.join(L.libdir, rel.split(path.sep).join('/'), f));
  }

  // 3. Wrappers, only for entry points that exist.
  const wrappers = [];
  for (const [name, entry] of Object.entries(BINARIES)) {
    if (!fs.existsSync(path.join(repo, entry))) {
      rec.notes.push(`${name}: ${entry} is not built; no wrapper`);
      continue;
    }
    rec.write(path.posix.join(L.bindir, name), wrapperText(name, entry, L, opts.uiBinary), 0o755);
    wrappers.push(name);
  }

  // 4. Assets, units, sysusers.d, tmpfiles.d.
  for (const a of ASSETS) rec.copy(path.join(repo, 'assets', a), path.posix.join(L.assetsdir, a), 0o644);
  for (const u of UNITS) {
    rec.write(path.posix.join(L.unitdir, u), rewriteUnit(fs.readFileSync(path.join(repo, 'config/systemd', u), 'utf8'), L), 0o644);
  }
  rec.copy(path.join(repo, 'config/sysusers.d/redbear-greeter.conf'), path.posix.join(L.sysusersdir, 'redbear-greeter.conf'), 0o644);
  rec.copy(path.join(repo, 'config/tmpfiles.d/redbear-greeter.conf'), path.posix.join(L.tmpfilesdir, 'redbear-greeter.conf'), 0o644);

  // 5. Configuration: never overwrite an existing file. Daemons without shipped defaults get
  //    a comment-only file (an empty TOML table means "every default") so units can pass --config.
  const prevConfig = new Map((previous?.entries ?? []).filter((e) => e.config).map((e) => [e.path, e.sha256]));
  const defaultsDir = path.join(repo, 'config/defaults');
  const shipped = fs.existsSync(defaultsDir) ? fs.readdirSync(defaultsDir).filter((f) => f.endsWith('.toml')).sort() : [];
  const configs = new Map(shipped.map((f) => [f, fs.readFileSync(path.join(defaultsDir, f))]));
  for (const d of DAEMON_CONFIGS) {
    if (!configs.has(`${d}.toml`)) {
      configs.set(`${d}.toml`, Buffer.from(`# redbear-${d} configuration. Every key is at its default; see docs/install.md.\n`));
    }
  }
  for (const [file, data] of configs) {
    const target = path.posix.join(L.confdir, file);
    const host = L.host(target);
    if (fs.existsSync(host)) {
      const cur = sha256(host);
      // Ours and unchanged since we wrote it: refresh to the new defaults.
      if (prevConfig.get(target) === cur) {
        rec.write(target, data, 0o644, { config: true });
      } else if (cur === createHash('sha256').update(data).digest('hex')) {
        rec.notes.push(`${target}: already present and identical; left alone (not recorded)`);
      } else {
        rec.notes.push(`${target}: exists and was edited; kept (new defaults not installed)`);
      }
      continue;
    }
    rec.write(target, data, 0o644, { config: true });
  }

  // 6. Drop files the previous install had that this one no longer writes.
  if (previous) {
    const now = new Set(rec.entries.map((e) => e.path));
    removeEntries(L, previous.entries.filter((e) => !now.has(e.path) && e.path !== L.manifest), rec.notes);
  }

  const manifest = {
    format: 1,
    package: 'redbear-greeter',
    prefix: L.prefix,
    sysconfdir: L.sysconfdir,
    libdir: L.libdir,
    wrappers,
    entries: rec.entries,
    created_dirs: [...new Set([...(previous?.created_dirs ?? []), ...rec.createdDirs])],
  };
  fs.writeFileSync(L.host(L.manifest), JSON.stringify(manifest, null, 2) + '\n', { mode: 0o644 });
  for (const n of rec.notes) log(`install: note: ${n}`);
  log(`install: ${rec.entries.length} files into ${L.destdir === '/' ? '' : L.destdir}${L.prefix}; wrappers: ${wrappers.join(' ')}`);
  log(`install: manifest ${L.host(L.manifest)}`);
  return { layout: L, manifest, notes: rec.notes };
}

export function readManifest(L) {
  const host = L.host(L.manifest);
  if (!fs.existsSync(host)) return null;
  const m = JSON.parse(fs.readFileSync(host, 'utf8'));
  if (m.format !== 1 || !Array.isArray(m.entries)) throw new InstallError(`${host}: not a redbear-greeter install manifest`);
  return m;
}

function safeTarget(p) {
  if (typeof p !== 'string' || !path.posix.isAbsolute(p) || path.posix.normalize(p) !== p || p === '/') {
    throw new InstallError(`manifest entry ${JSON.stringify(p)} is not a normalized absolute path`);
  }
  return p;
}

function removeEntries(L, entries, notes) {
  for (const e of entries) {
    const host = L.host(safeTarget(e.path));
    let st;
    try {
      st = fs.lstatSync(host);
    } catch {
      continue;
    }
    if (e.type === 'symlink') {
      if (st.isSymbolicLink()) fs.unlinkSync(host);
      continue;
    }
    if (!st.isFile()) continue;
    if (e.config && sha256(host) !== e.sha256) {
      notes.push(`${e.path}: edited since install; kept`);
      continue;
    }
    fs.unlinkSync(host);
  }
}

function removeEmptyDirs(L, targets) {
  // Deepest first; only directories that are now empty.
  const all = new Set();
  for (const t of targets) {
    for (let d = path.posix.dirname(safeTarget(t)); d.startsWith(L.libdir); d = path.posix.dirname(d)) all.add(d);
  }
  for (const d of [...all].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(L.host(d));
    } catch {
      /* not empty, or not ours */
    }
  }
}

export function uninstall(opts = {}) {
  const L = layout(opts);
  const log = opts.log ?? ((m) => console.log(m));
  const m = readManifest(L);
  if (!m) throw new InstallError(`no install manifest at ${L.host(L.manifest)}`);
  const notes = [];
  removeEntries(L, m.entries, notes);
  fs.unlinkSync(L.host(L.manifest));
  // Directories inside our own tree (e.g. node_modules/@redbear), then the ones the install created.
  removeEmptyDirs(L, [...m.entries.map((e) => e.path).filter((p) => p.startsWith(L.libdir + '/')), L.manifest]);
  for (const d of [...(m.created_dirs ?? [])].sort((a, b) => b.length - a.length)) {
    try {
      fs.rmdirSync(L.host(safeTarget(d)));
    } catch {
      /* not empty: something else lives there */
    }
  }
  for (const n of notes) log(`uninstall: note: ${n}`);
  log(`uninstall: removed ${m.entries.length - notes.length} files from ${L.destdir === '/' ? '' : L.destdir}${L.prefix}`);
  return { notes };
}

function main(argv) {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        prefix: { type: 'string', default: '/usr' },
        destdir: { type: 'string', default: process.env.DESTDIR || '/' },
        sysconfdir: { type: 'string', default: '/etc' },
        'ui-binary': { type: 'string' },
        uninstall: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    console.error(`install: ${e.message}\n\n${USAGE}`);
    return 2;
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  try {
    const opts = { prefix: values.prefix, destdir: values.destdir, sysconfdir: values.sysconfdir, uiBinary: values['ui-binary'] };
    if (values.uninstall) uninstall(opts);
    else install(opts);
    return 0;
  } catch (e) {
    if (e instanceof InstallError) {
      console.error(`install: ${e.message}`);
      return 1;
    }
    throw e;
  }
}

// Run only when invoked directly (tests import the functions).
if (process.argv[1] && pathToFileURL(fs.realpathSync(process.argv[1])).href === import.meta.url) {
  process.exitCode = main(process.argv.slice(2));
}
