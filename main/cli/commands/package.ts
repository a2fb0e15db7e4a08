/**
 * `workbench package --tflite F --model DIR --out F [--metadata FILE|JSON] [--json]`:
 * writes a .litertlm with the native packager. Without --metadata the
 * LlmMetadata is derived from the model folder; `--print-metadata` prints
 * that derived metadata (JSON) without writing, to edit and pass back.
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runFixMetadata } from './check.js';
import { LlmMetadataJson } from '../../common/formats.js';
import { WorkbenchError } from '../../common/errors.js';
import { formatBytes } from '../../common/format.js';
import { readMetadataFile } from '../../core/fidelity/load.js';
import { readTflite } from '../../core/formats/tflite.js';
import { deriveLlmMetadata } from '../../core/packager/metadata.js';
import { packageModel } from '../../core/packager/package.js';
import { EXIT, type CliCommand } from '../context.js';

export const packageCommand: CliCommand = {
  name: 'package',
  summary: 'Write a .litertlm bundle from a .tflite and the model folder (tokenizer + LlmMetadata)',
  usage: `workbench package --tflite FILE --model DIR --out FILE [--metadata FILE.json|FILE.pb|'{...}'] [--overwrite] [--json]
  (--overwrite replaces an existing --out file; without it an existing file is refused)
  (--metadata JSON changes only the fields it names in the metadata derived from the model folder;
   a binary .pb replaces it whole; --print-metadata shows what is derived)
workbench package --tflite FILE --model DIR --print-metadata
workbench package --fix-metadata BUNDLE.litertlm --model DIR --out FILE [--intended-context N] [--json]
  (re-packages an existing bundle with metadata corrected from the model folder: no re-conversion;
   exit 0 no check fails any more, 1 a failure remains)`,
  async run(argv, ctx) {
    const { values } = parseArgs({
      args: argv,
      options: {
        tflite: { type: 'string' },
        model: { type: 'string' },
        out: { type: 'string' },
        metadata: { type: 'string' },
        'print-metadata': { type: 'boolean', default: false },
        'fix-metadata': { type: 'string' },
        'intended-context': { type: 'string' },
        overwrite: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
      },
    });
    if (values['fix-metadata'] !== undefined) {
      if (!values.model) throw new WorkbenchError('usage', 'Name the Hugging Face model folder the bundle was made from with --model DIR.');
      if (!values.out) throw new WorkbenchError('usage', 'Name the corrected bundle to write with --out FILE.litertlm (it may be the same file).');
      return runFixMetadata(
        { bundle: values['fix-metadata'], model: values.model, out: values.out, json: values.json, ...(values['intended-context'] ? { intendedContext: values['intended-context'] } : {}) },
        ctx,
      );
    }
    if (!values.tflite) throw new WorkbenchError('usage', 'Name the converted model with --tflite FILE.');
    if (!values.model) throw new WorkbenchError('usage', 'Name the Hugging Face model folder (tokenizer, configs) with --model DIR.');
    const tflitePath = path.resolve(values.tflite);
    const modelDir = path.resolve(values.model);

    if (values['print-metadata']) {
      const derived = await deriveLlmMetadata(modelDir, readTflite(tflitePath));
      ctx.out(JSON.stringify(values.json ? derived : derived.metadata, null, 2));
      if (!values.json) for (const w of derived.warnings) ctx.err(`warning: ${w}`);
      return EXIT.ok;
    }
    if (!values.out) throw new WorkbenchError('usage', 'Name the bundle to write with --out FILE.litertlm.');
    // JSON (inline or a .json file) changes fields of the metadata derived from the model folder; a
    // binary .pb is a complete LlmMetadata from elsewhere and replaces it.
    const given = values.metadata ? await metadataArgument(values.metadata) : undefined;
    const isCompleteProto = values.metadata !== undefined && values.metadata.toLowerCase().endsWith('.pb');

    let lastTenth = -1;
    const result = await packageModel({
      tflitePath,
      modelDir,
      outPath: path.resolve(values.out),
      overwrite: values.overwrite,
      ...(given ? (isCompleteProto ? { metadata: given } : { metadataOverrides: given }) : {}),
      onProgress: (p) => {
        const tenth = p.totalBytes > 0 ? Math.floor((p.doneBytes / p.totalBytes) * 10) : 10;
        if (!values.json && tenth !== lastTenth) {
          lastTenth = tenth;
          // Input figures: the tokenizer is compressed, so the bundle ends up smaller than the total read.
          ctx.err(`packing: ${tenth * 10}% (${formatBytes(p.doneBytes)} of ${formatBytes(p.totalBytes)} of input read)`);
        }
      },
    });
    if (!values.json && lastTenth < 10) ctx.err('packing: 100%');
    if (values.json) {
      ctx.out(JSON.stringify(result, null, 2));
      return EXIT.ok;
    }
    ctx.out(`Wrote ${result.outPath} (${formatBytes(result.sizeBytes)}): ${result.sections.map((s) => s.dataTypeName).join(', ')}.`);
    for (const [field, source] of Object.entries(result.metadataSources)) ctx.out(`  ${field}: ${source}`);
    for (const w of result.warnings) ctx.err(`warning: ${w}`);
    return EXIT.ok;
  },
};

/** --metadata: inline JSON, or a .json / binary .pb file. */
async function metadataArgument(value: string): Promise<LlmMetadataJson> {
  if (!value.trimStart().startsWith('{')) return readMetadataFile(path.resolve(value));
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch (error) {
    throw new WorkbenchError('usage', `--metadata is not valid JSON (${(error as Error).message}).`);
  }
  const parsed = LlmMetadataJson.safeParse(json);
  if (!parsed.success) {
    throw new WorkbenchError('bad_metadata', `--metadata is not LlmMetadata JSON: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}.`);
  }
  return parsed.data;
}
