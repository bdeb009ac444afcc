// The worker process of a Node.js function: the same frames as python_bootstrap.py (see its docstring) on
// standard input and output. argv: the function's unpacked code and its handler ("file.export"). The
// handler may be async (a returned promise) or take Lambda's callback; console output goes to standard error.
"use strict";
const fs = require("fs");
const path = require("path");
const url = require("url");

const [taskRoot, handlerName] = process.argv.slice(2);
const out = (kind, body) => {
  const payload = Buffer.from(body || "");
  const head = Buffer.alloc(5);
  head.writeUInt32BE(payload.length + 1, 0);
  head.write(kind, 4, "latin1");
  fs.writeSync(1, Buffer.concat([head, payload]));
};
// Only frames on fd 1: whatever the handler prints goes to standard error.
for (const level of ["log", "info", "debug", "trace"]) console[level] = console.error;
process.stdout.write = (chunk, encoding, callback) => process.stderr.write(chunk, encoding, callback);
process.chdir(taskRoot);

const errorDocument = (error, type) => ({
  errorType: type || (error && error.name) || "Error",
  errorMessage: error && error.message !== undefined ? String(error.message) : String(error),
  stackTrace: error && error.stack ? String(error.stack).split("\n").slice(1).map((l) => l.trim()) : [],
});

async function loadHandler() {
  const dot = handlerName.lastIndexOf(".");
  if (dot < 1) throw Object.assign(new Error(`Bad handler ${handlerName}`), { name: "Runtime.MalformedHandlerName" });
  const file = path.resolve(taskRoot, handlerName.slice(0, dot));
  const exportName = handlerName.slice(dot + 1);
  let module;
  const candidates = [".js", ".mjs", ".cjs"].map((ext) => file + ext).filter((f) => fs.existsSync(f));
  if (candidates.length === 0) {
    throw Object.assign(new Error(`Cannot find module '${handlerName.slice(0, dot)}'`), { name: "Runtime.ImportModuleError" });
  }
  try {
    module = candidates[0].endsWith(".mjs") ? await import(url.pathToFileURL(candidates[0]).href) : require(candidates[0]);
  } catch (error) {
    if (error && error.code === "ERR_REQUIRE_ESM") module = await import(url.pathToFileURL(candidates[0]).href);
    else throw Object.assign(error, { name: error && error.name === "SyntaxError" ? "Runtime.UserCodeSyntaxError" : "Runtime.ImportModuleError" });
  }
  const handler = module[exportName] || (module.default && module.default[exportName]);
  if (typeof handler !== "function") {
    throw Object.assign(new Error(`${handlerName} is undefined or not exported`), { name: "Runtime.HandlerNotFound" });
  }
  return handler;
}

function invoke(handler, header, event) {
  const context = {
    awsRequestId: header.id,
    invokedFunctionArn: header.arn,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, header.deadline - Date.now()),
  };
  return new Promise((resolve, reject) => {
    const callback = (error, result) => (error ? reject(error) : resolve(result));
    try {
      const returned = handler(event, context, callback);
      if (returned && typeof returned.then === "function") returned.then(resolve, reject);
      else if (handler.length < 3) resolve(returned);
    } catch (error) {
      reject(error);
    }
  });
}

async function main() {
  let handler = null;
  let initError = null;
  try {
    handler = await loadHandler();
    out("I");
  } catch (error) {
    initError = JSON.stringify(errorDocument(error, error && error.name));
    out("X", initError);
  }
  let pending = Buffer.alloc(0);
  let busy = Promise.resolve();
  process.stdin.on("data", (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4 && pending.length >= 4 + pending.readUInt32BE(0)) {
      const frame = pending.subarray(4, 4 + pending.readUInt32BE(0));
      pending = pending.subarray(4 + frame.length);
      const newline = frame.indexOf(10);
      const header = JSON.parse(frame.subarray(0, newline).toString());
      const event = JSON.parse(frame.subarray(newline + 1).toString());
      busy = busy.then(async () => {
        if (initError !== null) return out("E", initError);
        try {
          const result = await invoke(handler, header, event);
          out("R", result === undefined ? "null" : JSON.stringify(result));
        } catch (error) {
          out("E", JSON.stringify(errorDocument(error)));
        }
      });
    }
  });
  process.stdin.on("end", () => process.exit(0));
}

main();
