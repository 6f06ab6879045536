// Types for scripts/install.mjs (imported by test/packaging/*.test.ts).
export declare const REPO: string;
export declare const MANIFEST_NAME: string;
export declare const WORKSPACES: string[];
export declare const BINARIES: Record<string, string>;
export declare const DAEMON_CONFIGS: string[];
export declare const UNITS: string[];
export interface InstallOptions {
  prefix?: string;
  destdir?: string;
  sysconfdir?: string;
  uiBinary?: string;
  repo?: string;
  log?: (line: string) => void;
}
export interface Layout {
  prefix: string;
  sysconfdir: string;
  destdir: string;
  libdir: string;
  bindir: string;
  assetsdir: string;
  unitdir: string;
  sysusersdir: string;
  tmpfilesdir: string;
  confdir: string;
  manifest: string;
  host(target: string): string;
}
export interface ManifestEntry {
  path: string;
  type: 'file' | 'symlink';
  sha256?: string;
  target?: string;
  config?: boolean;
}
export interface Manifest {
  format: 1;
  package: string;
  prefix: string;
  sysconfdir: string;
  libdir: string;
  wrappers: string[];
  entries: ManifestEntry[];
  created_dirs: string[];
}
export declare function layout(opts?: InstallOptions): Layout;
export declare function wrapperText(name: string, entry: string, L: Layout, uiBinary?: string): string;
export declare function rewriteUnit(text: string, L: Layout): string;
export declare function runtimeDependencies(repo?: string): string[];
export declare function install(opts?: InstallOptions): { layout: Layout; manifest: Manifest; notes: string[] };
export declare function readManifest(L: Layout): Manifest | null;
export declare function uninstall(opts?: InstallOptions): { notes: string[] };
