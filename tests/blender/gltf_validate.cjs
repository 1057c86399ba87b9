// Validate a glTF/GLB file with the Khronos glTF validator (npm gltf-validator) and print its
// report's issue summary as JSON: node gltf_validate.cjs VALIDATOR_MODULE_DIR FILE
"use strict";
const fs = require("fs");
const path = require("path");

const validator = require(path.resolve(process.argv[2]));
const file = process.argv[3];
validator
  .validateBytes(new Uint8Array(fs.readFileSync(file)), {
    uri: path.basename(file),
    maxIssues: 1000,
    externalResourceFunction: () => Promise.reject(new Error("no external resources")),
  })
  .then((report) => {
    const issues = report.issues;
    console.log(
      JSON.stringify({
        validatorVersion: report.validatorVersion,
        numErrors: issues.numErrors,
        numWarnings: issues.numWarnings,
        numInfos: issues.numInfos,
        numHints: issues.numHints,
        messages: issues.messages.map((m) => `${m.severity} ${m.code} ${m.pointer || ""}: ${m.message}`),
      })
    );
  })
  .catch((error) => {
    console.error(`gltf-validator failed: ${error}`);
    process.exit(2);
  });
