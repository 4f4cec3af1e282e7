'use strict';
// osls plugin (listed in serverless.yml after serverless-python-requirements): puts bytecode for the
// Lambda runtime's Python into the zip. Runs after the requirements plugin has added the
// dependencies and before osls hashes the zip for the function versions (CodeSha256), so the
// template describes the zip that is deployed. The work is done by scripts/lambda_package.py,
// run by the runtime's interpreter: PYTHON_RUNTIME_BIN, which scripts/package.sh finds and checks.
const { execFileSync } = require('child_process');
const path = require('path');

class LambdaBytecode {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'after:package:createDeploymentArtifacts': () => this.compile() };
  }

  compile() {
    const service = this.serverless.service;
    const runtime = service.provider.runtime;
    const artifact = service.package.artifact;
    const python = process.env.PYTHON_RUNTIME_BIN;
    if (!python) {
      throw new this.serverless.classes.Error(
        `PYTHON_RUNTIME_BIN is not set: package with scripts/package.sh, which finds a ${runtime} interpreter`
      );
    }
    if (!artifact) {
      throw new this.serverless.classes.Error('no service artifact to compile (package.individually must stay false)');
    }
    const script = path.join(this.serverless.serviceDir, 'scripts', 'lambda_package.py');
    execFileSync(python, [script, 'bytecode', artifact, '--runtime', runtime], { stdio: 'inherit' });
  }
}

module.exports = LambdaBytecode;
