'use strict';
/**
 * Lambda@Edge entry (viewer request, Node.js 22): `index.handler`.
 *
 * Reads config.json from beside this file once per instance (format: config.js) and hands
 * every request to the gate (gate.js). Never throws: a bad or missing config.json answers
 * every request with a 500 page and logs what to fix, without the secrets.
 */

const fs = require('node:fs');
const path = require('node:path');
const { parseConfig, ConfigError } = require('./config');
const { createHandler } = require('./gate');
const { page } = require('./responses');

/**
 * A handler that builds the gate from the config file at `configPath` on first use.
 * @param {string} configPath
 */
function handlerFromFile(configPath) {
  let gate = null;
  return async function handler(event) {
    if (gate === null) {
      try {
        let raw;
        try {
          raw = JSON.parse(fs.readFileSync(configPath, 'utf8'));
        } catch (err) {
          // JSON.parse's message can quote the file (and its secrets): name the failure only.
          throw new ConfigError([
            err instanceof SyntaxError ? `${path.basename(configPath)} is not valid JSON`
              : `${path.basename(configPath)} cannot be read (${err.code ?? 'error'})`,
          ]);
        }
        gate = createHandler(parseConfig(raw));
      } catch (err) {
        const problems = err instanceof ConfigError ? err.problems : [err?.constructor?.name];
        console.error(JSON.stringify({ level: 'error', msg: 'edge auth not configured', problems }));
        return page(500);
      }
    }
    return gate(event);
  };
}

module.exports = {
  handler: handlerFromFile(path.join(__dirname, 'config.json')),
  handlerFromFile,
  createHandler,
  parseConfig,
};
