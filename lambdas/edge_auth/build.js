'use strict';
/**
 * Bundle the handler and its dependencies into one file, index.js, for the Lambda@Edge asset.
 *
 * Viewer-request functions are capped at 1 MB zipped; node_modules as installed is ~1.6 MB
 * zipped (browser and ESM builds, types, docs), the bundle ~0.1 MB. The asset is the output
 * folder plus the config.json the CDK app writes beside index.js (the handler reads it from
 * its own folder). Handler: `index.handler`, runtime Node.js 22.
 *
 * Usage:
 *   node lambdas/edge_auth/build.js OUTDIR     # or: npm run build --prefix lambdas/edge_auth
 */

const path = require('node:path');

/** Lambda@Edge's limit for a viewer-request function's zipped package. */
const MAX_ZIPPED_BYTES = 1024 * 1024;

/** Write OUTDIR/index.js and return its path. Needs the devDependency esbuild. */
function build(outdir) {
  const esbuild = require('esbuild');
  const outfile = path.join(outdir, 'index.js');
  esbuild.buildSync({
    entryPoints: [path.join(__dirname, 'index.js')],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node22',
    format: 'cjs',
    minify: true,
    keepNames: true, // error class names in the logs
    legalComments: 'eof',
    logLevel: 'warning',
  });
  return outfile;
}

if (require.main === module) {
  const out = build(path.resolve(process.argv[2] ?? path.join(__dirname, 'build')));
  console.log(out);
}

module.exports = { build, MAX_ZIPPED_BYTES };
