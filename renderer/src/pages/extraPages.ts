/**
 * Pages contributed by capabilities beyond the core (Inspect, …), listed in
 * the navigation between Runs and Environment.
 */
import type { ComponentType } from 'react';
import type { Route } from '../router';
import { InspectPage } from './InspectPage';
import { RecipesPage } from './RecipesPage';
import { TryPage } from './TryPage';

export interface ExtraPage {
  path: string;
  label: string;
  component: ComponentType<{ route: Route }>;
}

export const extraPages: ExtraPage[] = [
  { path: 'inspect', label: 'Inspect', component: InspectPage },
  { path: 'try', label: 'Try', component: TryPage },
  { path: 'recipes', label: 'Compare quantizations', component: RecipesPage },
];
