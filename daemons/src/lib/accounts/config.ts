/** Options shared by the account operations. All have safe defaults. */
import type { LoginDefs } from './login-defs.js';
import { daysSinceEpoch } from './state.js';

export interface AccountsConfig {
  /** Group granting administrator rights (`sudo` on Debian, `wheel` elsewhere). Default `sudo`. */
  adminGroup?: string;
  /** Create `adminGroup` (system gid range) when missing. Default true. */
  createAdminGroup?: boolean;
  /** Default login shell. Default `/bin/bash`. */
  defaultShell?: string;
  /** Parent of home directories. Default `/home`. */
  homeBase?: string;
  /** Skeleton directory, or null for none. Default `/etc/skel`. */
  skel?: string | null;
  /** Mode of new home directories. Default 0o700. */
  homeMode?: number;
  /** Create the home directory. Default true. */
  createHome?: boolean;
  /** Lock acquisition timeout. Default 15 s (as shadow-utils). */
  lockTimeoutMs?: number;
  /** Clock, in days since the epoch (shadow(5) unit). Default: today (UTC). */
  nowDays?: () => number;
  /** Overrides `<root>/etc/login.defs`. */
  loginDefs?: LoginDefs;
}

export interface ResolvedConfig {
  adminGroup: string;
  createAdminGroup: boolean;
  defaultShell: string;
  homeBase: string;
  skel: string | null;
  homeMode: number;
  createHome: boolean;
  lockTimeoutMs: number | undefined;
  nowDays: () => number;
  loginDefs: LoginDefs | undefined;
}

export function resolveConfig(cfg: AccountsConfig = {}): ResolvedConfig {
  return {
    adminGroup: cfg.adminGroup ?? 'sudo',
    createAdminGroup: cfg.createAdminGroup ?? true,
    defaultShell: cfg.defaultShell ?? '/bin/bash',
    homeBase: cfg.homeBase ?? '/home',
    skel: cfg.skel === undefined ? '/etc/skel' : cfg.skel,
    homeMode: cfg.homeMode ?? 0o700,
    createHome: cfg.createHome ?? true,
    lockTimeoutMs: cfg.lockTimeoutMs,
    nowDays: cfg.nowDays ?? (() => daysSinceEpoch()),
    loginDefs: cfg.loginDefs,
  };
}
