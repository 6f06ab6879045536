// The layer map of docs/architecture.md, enforced on every import.
import path from 'node:path';
import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BUILTINS = new Set(builtinModules);
const DAEMONS = new Set(['authd', 'keystored', 'sessiond', 'greeterd', 'session-launch', 'supervisor']);

/** The layer a repo-relative path belongs to. */
export function layerOf(rel) {
  const p = rel.split(path.sep).join('/');
  // Tests may reach into what they test and use test tooling.
  if (/\.test\.tsx?$/.test(p) || /(^|\/)test\//.test(p)) return 'free';
  if (p.startsWith('protocol/src/common/')) return 'protocol-common';
  if (p.startsWith('protocol/')) return 'protocol-node';
  if (p.startsWith('daemons/src/runtime/')) return 'runtime';
  let m = /^daemons\/src\/lib\/([^/]+)\//.exec(p);
  if (m) return `lib:${m[1]}`;
  m = /^daemons\/src\/([^/]+)\//.exec(p);
  if (m && DAEMONS.has(m[1])) return `daemon:${m[1]}`;
  if (p.startsWith('cli/')) return 'cli';
  if (p.startsWith('electron/')) return 'electron';
  if (p.startsWith('renderer/src/')) return 'renderer';
  if (p.startsWith('assets/') && !/\.[cm]?[jt]sx?$/.test(p)) return 'asset';
  return 'free';
}

function targetOf(spec, fromFile) {
  if (spec.startsWith('node:') || BUILTINS.has(spec.split('/')[0])) return 'node';
  if (spec === '@redbear/protocol') return 'protocol-common';
  if (spec.startsWith('@redbear/protocol/')) return 'protocol-node';
  if (spec.startsWith('@redbear/daemons/')) return layerOf(`daemons/src/${spec.slice('@redbear/daemons/'.length)}/`);
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const abs = path.resolve(path.dirname(fromFile), spec.split('?')[0]);
    return layerOf(path.relative(REPO, abs));
  }
  return `npm:${spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]}`;
}

/** Whether layer `from` may import layer `to`. */
export function allowed(from, to) {
  if (from === 'free' || from === to) return true;
  const npm = to.startsWith('npm:');
  switch (from) {
    case 'protocol-common':
      return to === 'npm:@sinclair/typebox';
    case 'protocol-node':
      return to === 'protocol-common' || to === 'node' || npm;
    case 'runtime':
      return to.startsWith('protocol-') || to === 'node' || npm;
    case 'cli':
      return to.startsWith('protocol-') || to === 'runtime' || to.startsWith('lib:') || to === 'node' || npm;
    case 'electron':
      return to.startsWith('protocol-') || to === 'node' || npm;
    case 'renderer':
      return to === 'protocol-common' || to === 'asset' || (npm && to !== 'npm:electron');
    default:
      if (from.startsWith('lib:') || from.startsWith('daemon:')) {
        return to.startsWith('protocol-') || to === 'runtime' || to.startsWith('lib:') || to === 'node' || npm;
      }
      return false;
  }
}

const rule = {
  meta: {
    type: 'problem',
    docs: { description: 'Enforce the layer map of docs/architecture.md' },
    messages: { layer: '{{from}} may not import {{to}} ("{{spec}}"): see docs/architecture.md#layers' },
    schema: [],
  },
  create(context) {
    const file = context.filename;
    const from = layerOf(path.relative(REPO, file));
    const checkSource = (node) => {
      if (!node || node.type !== 'Literal' || typeof node.value !== 'string') return;
      const to = targetOf(node.value, file);
      if (!allowed(from, to)) context.report({ node, messageId: 'layer', data: { from, to, spec: node.value } });
    };
    return {
      ImportDeclaration: (n) => checkSource(n.source),
      ExportNamedDeclaration: (n) => checkSource(n.source),
      ExportAllDeclaration: (n) => checkSource(n.source),
      ImportExpression: (n) => checkSource(n.source),
      CallExpression: (n) => {
        if (n.callee.type === 'Identifier' && n.callee.name === 'require') checkSource(n.arguments[0]);
      },
    };
  },
};

export default { rules: { imports: rule } };
