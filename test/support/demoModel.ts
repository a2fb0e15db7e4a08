/**
 * The demonstration model for tests: the product's own (main/core/demo, what
 * `workbench demo` builds), trained with the test Python (Debian's, with torch).
 */
import { buildDemoBundles, type DemoBundles } from '../../main/core/demo/demoModel.js';
import { TEST_PYTHON } from './python.js';

export { DEMO_ANSWERS, DEMO_CONFIG, shippedMetadata, trainDemoModel, type DemoBundles } from '../../main/core/demo/demoModel.js';

/** Trains, converts and packages the shipped and the fixed bundles into dir. */
export function writeDemoBundles(dir: string): Promise<DemoBundles> {
  return buildDemoBundles(dir, TEST_PYTHON);
}
