// ONNX Runtime peer of BENCHMARKS.md: times a backbone + FPN exported by
// export_backbone_onnx.py on ONNX Runtime's CPU provider (onnxruntime-node, all
// graph optimizations, intra-op threads as given, one inter-op thread), the same
// work as ctinfer's "backbone" stage. Prints the median and min over the runs.
//
//   npm install --ignore-scripts onnxruntime-node@1.30.0      (in some DIR)
//   NODE_PATH=DIR/node_modules node tools/reference/bench_ort.mjs MODEL.onnx IN.npy \
//       [--threads N] [--runs R] [--warmup W] [--check]
//
// IN.npy is `ctinfer MODEL.bin SLICE --dump-input IN.npy` ([3,H,W] float32).
// --check compares the outputs with MODEL.onnx.expect (PyTorch's, from the exporter).
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';


function usage() {
    console.error('usage: bench_ort.mjs MODEL.onnx IN.npy [--threads N] [--runs R] [--warmup W] [--check]');
    process.exit(2);
}

function parseArgs(argv) {
    const a = { threads: 1, runs: 7, warmup: 1, check: false, files: [] };
    for (let i = 0; i < argv.length; i++) {
        const v = argv[i];
        if (v === '--check') a.check = true;
        else if (['--threads', '--runs', '--warmup'].includes(v) && i + 1 < argv.length)
            a[v.slice(2)] = Number(argv[++i]);
        else if (v.startsWith('--')) usage();
        else a.files.push(v);
    }
    if (a.files.length !== 2 || !(a.threads >= 1 && a.runs >= 1 && a.warmup >= 0)) usage();
    return a;
}

// A little-endian float32 .npy in C order: its shape and data.
function readNpy(path) {
    const buf = readFileSync(path);
    const headerLen = buf.readUInt16LE(8);
    const header = buf.toString('latin1', 10, 10 + headerLen);
    if (!header.includes("'<f4'") || header.includes('True')) throw new Error(`${path}: not a C-order float32 .npy`);
    const shape = header.match(/\(([^)]*)\)/)[1].split(',').filter((s) => s.trim()).map(Number);
    const start = 10 + headerLen;
    const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
    return { shape, data };
}

function median(v) {
    const s = [...v].sort((x, y) => x - y);
    return s[Math.floor(s.length / 2)];
}

const args = parseArgs(process.argv.slice(2));
const [modelPath, inputPath] = args.files;
let ort;
try {
    ort = createRequire(import.meta.url)('onnxruntime-node');
} catch {
    console.error('bench_ort.mjs: onnxruntime-node not found: npm install --ignore-scripts ' +
                  'onnxruntime-node@1.30.0 in some DIR and set NODE_PATH=DIR/node_modules');
    process.exit(1);
}
const input = readNpy(inputPath);
const session = await ort.InferenceSession.create(modelPath, {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    intraOpNumThreads: args.threads,
    interOpNumThreads: 1,
});
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', input.data, [1, ...input.shape]) };

let outputs;
const times = [];
for (let i = 0; i < args.warmup + args.runs; i++) {
    const t0 = performance.now();
    outputs = await session.run(feeds);
    const ms = performance.now() - t0;
    if (i >= args.warmup) times.push(ms);
}
console.log(`onnxruntime ${args.threads} thread(s), ${args.runs} runs: median ${median(times).toFixed(2)} ms, ` +
            `min ${Math.min(...times).toFixed(2)} ms`);

if (args.check) {
    const expect = new Float32Array(readFileSync(modelPath + '.expect').buffer.slice(0));
    let at = 0, worst = 0, scale = 0;
    for (const name of session.outputNames) {
        for (const v of outputs[name].data) {
            worst = Math.max(worst, Math.abs(v - expect[at]));
            scale = Math.max(scale, Math.abs(expect[at]));
            at++;
        }
    }
    if (at !== expect.length) throw new Error(`outputs have ${at} values, the expectation ${expect.length}`);
    console.log(`check: max |onnxruntime - pytorch| ${worst.toExponential(2)} (largest output ${scale.toFixed(2)})`);
}
