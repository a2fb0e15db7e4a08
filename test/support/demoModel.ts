/**
 * The demonstration model for tests: the product's own (main/core/demo, what
 * `workbench demo` builds), trained with the test Python (Debian's, with torch).
 * Built once per content key (test/support/fixtureCache.ts) and copied into
 * each test's folder: training and packaging it is the same work for every
 * test file that needs it, and `workbench demo`'s own test still trains it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildDemoBundles, type DemoBundles } from '../../main/core/demo/demoModel.js';
import { cachedFixture, copyFixture } from './fixtureCache.js';
import { TEST_PYTHON } from './python.js';

export { DEMO_ANSWERS, DEMO_CONFIG, shippedMetadata, type DemoBundles } from '../../main/core/demo/demoModel.js';

/** What decides the demo fixture's bytes: the training script and reference, the product code, its resources. */
const DEMO_SOURCES = ['python-env/demo', 'python-env/reference', 'main/common', 'main/core', 'resources/demo', 'test/support/demoModel.ts'];

/** Trains, converts and packages the shipped and the fixed bundles into dir (a copy of the cached build). */
export async function writeDemoBundles(dir: string): Promise<DemoBundles> {
  const cached = await cachedFixture('demo-bundles', DEMO_SOURCES, async (out) => {
    const built = await buildDemoBundles(out, TEST_PYTHON);
    // Paths relative to the folder: the build is renamed into the cache, then copied.
    const rel = (p: string) => path.relative(out, p);
    writeFileSync(path.join(out, 'demo.json'), JSON.stringify({ training: built.training, files: { modelDir: rel(built.modelDir), tflite: rel(built.tflite), shipped: rel(built.shipped), fixed: rel(built.fixed) } }));
  });
  copyFixture(cached, dir);
  const { training, files } = JSON.parse(readFileSync(path.join(dir, 'demo.json'), 'utf8')) as { training: DemoBundles['training']; files: Record<'modelDir' | 'tflite' | 'shipped' | 'fixed', string> };
  const at = (rel: string) => path.join(dir, rel);
  return { modelDir: at(files.modelDir), tflite: at(files.tflite), shipped: at(files.shipped), fixed: at(files.fixed), training };
}
