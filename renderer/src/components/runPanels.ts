/**
 * Panels shown on a run's page, in order. A capability adds one line here;
 * `claims` names the stage kinds whose results the panel presents (those are
 * then not repeated in the generic results table).
 */
import type { ComponentType } from 'react';
import type { RunDetail } from '../../../main/common/runs';
import { CorpusPanel } from './CorpusPanel';
import { DemoPanel } from './DemoPanel';
import { EvaluatePanel } from './EvaluatePanel';
import { FidelityPanel } from './FidelityPanel';
import { MergePanel } from './MergePanel';
import { PackagePanel } from './PackagePanel';
import { RecipesPanel } from './RecipesPanel';
import { RunMemoryPanel } from './RunMemoryPanel';

export interface RunPanel {
  id: string;
  claims: string[];
  component: ComponentType<{ run: RunDetail }>;
}

export const runPanels: RunPanel[] = [
  { id: 'demo', claims: ['demo'], component: DemoPanel },
  { id: 'memory', claims: [], component: RunMemoryPanel },
  { id: 'merge', claims: ['merge'], component: MergePanel },
  { id: 'package', claims: ['package'], component: PackagePanel },
  { id: 'fidelity', claims: ['verify'], component: FidelityPanel },
  { id: 'evaluate', claims: ['evaluate'], component: EvaluatePanel },
  { id: 'corpus', claims: [], component: CorpusPanel },
  { id: 'recipes', claims: ['recipes'], component: RecipesPanel },
];
