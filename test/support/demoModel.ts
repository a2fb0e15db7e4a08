/**
 * The demonstration model for tests: the product's own (main/core/demo, what
 * `workbench demo` builds), trained with the test Python (Debian's, with torch).
 */
import { buildDemoBundles, trainDemoModel as trainWith, type DemoBundles, type DemoTraining } from '../../main/core/demo/demoModel.js';
import { TEST_PYTHON } from './python.js';

export { DEMO_ANSWERS, DEMO_CONFIG, shippedMetadata, type DemoBundles } from '../../main/core/demo/demoModel.js';

/** Trains, converts and packages the shipped and the fixed bundles into dir. */
export function writeDemoBundles(dir: string): Promise<DemoBundles> {
  return buildDemoBundles(dir, TEST_PYTHON);
}

/** Trains the demonstration model into modelDir with the test Python. */
export function trainDemoModel(modelDir: string, python: string = TEST_PYTHON): Promise<DemoTraining> {
  return trainWith(modelDir, python);
}
