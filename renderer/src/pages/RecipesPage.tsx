/**
 * Compare quantizations (issue 16 item 3): the form of `workbench recipes`.
 * Starts a one-stage `recipes` run (in history, on the Runs and Compare
 * pages) and opens its page, where the table, the size-versus-KLD chart and
 * the recommendation appear when it ends.
 */
import { useState } from 'react';
import { DEFAULT_MAX_KLD, DEFAULT_RECIPES_KV, RecipesParams } from '../../../main/common/recipes';
import { NATIVE_QUANTIZATIONS, type Quantization } from '../../../main/common/stages/convert';
import { useAction, useApi } from '../api/hooks';
import { ErrorBox, Field } from '../components/common';
import { PathField } from '../components/PathField';
import { navigate } from '../router';

export function RecipesPage() {
  const api = useApi();
  const [modelDir, setModelDir] = useState('');
  const [outDir, setOutDir] = useState('');
  const [recipes, setRecipes] = useState<Quantization[]>([...NATIVE_QUANTIZATIONS]);
  const [kv, setKv] = useState(String(DEFAULT_RECIPES_KV));
  const [corpusFile, setCorpusFile] = useState('');
  const [corpusTokens, setCorpusTokens] = useState('2048');
  const [maxKld, setMaxKld] = useState(String(DEFAULT_MAX_KLD));
  const candidate = {
    modelDir: modelDir.trim(),
    outDir: outDir.trim(),
    recipes,
    kvCacheMaxLen: Number(kv),
    corpus: { ...(corpusFile.trim() ? { file: corpusFile.trim() } : {}), maxTokens: Number(corpusTokens) },
    maxKld: Number(maxKld),
  };
  const parsed = RecipesParams.safeParse(candidate);
  const issue = (field: string) => (parsed.success ? undefined : parsed.error.issues.find((i) => i.path[0] === field)?.message);
  const start = useAction(async () => {
    const { id } = await api.call('runs.start', { plan: { name: `Compare quantizations: ${candidate.modelDir.split(/[\\/]/).pop()}`, stages: [{ kind: 'recipes', params: candidate }] } });
    navigate(`/runs/${id}`);
  });
  const toggle = (r: Quantization) => setRecipes((list) => (list.includes(r) ? list.filter((x) => x !== r) : NATIVE_QUANTIZATIONS.filter((x) => x === r || list.includes(x))));
  return (
    <div className="page" data-testid="recipes-page">
      <header className="page-header">
        <h1>Compare quantizations</h1>
      </header>
      <section className="card">
        <p className="muted">
          Converts and packages the model once per recipe, then measures each bundle: its size, the device memory it needs at this context, the corpus metrics (mean KL divergence, top-1 agreement, perplexity ratio against the PyTorch reference), greedy agreement on the behaviour check's prompts and decode speed. The smallest bundle whose mean KLD stays within the threshold is recommended.
        </p>
        <PathField label="Model folder (Hugging Face)" kind="folder" value={modelDir} onChange={setModelDir} testId="recipes-model" recent="model" />
        <PathField label="Output folder (one sub-folder per recipe)" kind="folder" save value={outDir} onChange={setOutDir} testId="recipes-out" />
        <Field label="Recipes" error={issue('recipes')}>
          <div className="inline-fields">
            {NATIVE_QUANTIZATIONS.map((r) => (
              <label key={r}>
                <input type="checkbox" checked={recipes.includes(r)} onChange={() => toggle(r)} data-testid={`recipes-pick-${r}`} /> {r}
              </label>
            ))}
          </div>
        </Field>
        <div className="inline-fields">
          <Field label="Context (tokens)" error={issue('kvCacheMaxLen')}>
            <input type="number" min={16} value={kv} onChange={(e) => setKv(e.target.value)} data-testid="recipes-kv" />
          </Field>
          <Field label="Corpus tokens" error={issue('corpus')}>
            <input type="number" min={2} value={corpusTokens} onChange={(e) => setCorpusTokens(e.target.value)} data-testid="recipes-corpus-tokens" />
          </Field>
          <Field label="Max mean KLD (nats)" error={issue('maxKld')}>
            <input type="number" step="0.001" min={0} value={maxKld} onChange={(e) => setMaxKld(e.target.value)} data-testid="recipes-max-kld" />
          </Field>
        </div>
        <PathField label="Corpus (optional: text or JSONL; empty = the built-in public-domain sample)" kind="file" value={corpusFile} onChange={setCorpusFile} testId="recipes-corpus" />
        {start.error ? <ErrorBox error={start.error} title="The comparison did not start" /> : null}
        <button type="button" disabled={!parsed.success || start.pending} onClick={() => void start.run()} data-testid="recipes-start">
          Start the comparison
        </button>
        {!parsed.success && modelDir && outDir ? <p className="error-text small">{parsed.error.issues[0]?.message}</p> : null}
      </section>
    </div>
  );
}
