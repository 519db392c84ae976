// Reference run of a TFJS graph model on TensorFlow.js's pure-JavaScript CPU backend, for the
// parity check in convert_human_models.py (run from a folder where @tensorflow/tfjs-core,
// -converter and -backend-cpu are installed).
//   node tfjs_reference.mjs MODEL_JSON INPUT_F32 N,H,W,C OUTPUT_NODE OUTPUT_F32
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(join(process.cwd(), 'package.json'));
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-backend-cpu');
const converter = require('@tensorflow/tfjs-converter');

const [modelJson, inputFile, shapeText, outputNode, outputFile] = process.argv.slice(2);
const handler = {
  async load() {
    const spec = JSON.parse(readFileSync(modelJson, 'utf8'));
    const specs = spec.weightsManifest.flatMap((g) => g.weights);
    const bin = readFileSync(join(dirname(modelJson), spec.weightsManifest[0].paths[0]));
    return { modelTopology: spec.modelTopology, weightSpecs: specs,
      weightData: bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength),
      format: spec.format, generatedBy: spec.generatedBy, convertedBy: spec.convertedBy };
  },
};
await tf.setBackend('cpu');
const model = await converter.loadGraphModel(handler);
const shape = shapeText.split(',').map(Number);
const raw = readFileSync(inputFile);
const input = tf.tensor(new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4), shape);
const out = model.execute(input, outputNode);
writeFileSync(outputFile, Buffer.from((await out.data()).buffer));
