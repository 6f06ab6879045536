// electron-builder `afterPack` hook: flip the Electron fuses of the packaged binary before it
// is wrapped into a deb/AppImage. Tested on a fake binary by test/packaging/after-pack.test.ts.
'use strict';
const path = require('node:path');
const { flipFuses, FuseVersion, FuseV1Options } = require('@electron/fuses');

/** The fuse settings of the kiosk UI (docs/packaging.md explains each). */
const FUSES = {
  version: FuseVersion.V1,
  // The daemons need a real Node: never let this binary act as one (ELECTRON_RUN_AS_NODE).
  [FuseV1Options.RunAsNode]: false,
  [FuseV1Options.EnableCookieEncryption]: true,
  // No NODE_OPTIONS and no --inspect: nothing in the environment or argv may inject code.
  [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
  [FuseV1Options.EnableNodeCliInspectArguments]: false,
  // Load the app only from the (integrity-checked) app.asar.
  [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
  [FuseV1Options.OnlyLoadAppFromAsar]: true,
};

/** Path of the Electron executable inside an electron-builder appOutDir. */
function electronBinary(context) {
  const name = context.packager.executableName;
  return path.join(context.appOutDir, name);
}

async function afterPack(context) {
  if (context.electronPlatformName !== 'linux') {
    throw new Error(`redbear-greeter: after-pack supports Linux builds only (got ${context.electronPlatformName})`);
  }
  const binary = electronBinary(context);
  await flipFuses(binary, FUSES);
  console.log(`redbear-greeter: fuses flipped in ${binary}`);
}

module.exports = afterPack;
module.exports.default = afterPack;
module.exports.FUSES = FUSES;
module.exports.electronBinary = electronBinary;
