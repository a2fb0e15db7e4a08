/**
 * The prompts of the behaviour check: a small built-in set (short factual
 * and instruction turns whose reference answers end within a few dozen
 * tokens) plus the user's file, JSONL with one conversation per line
 * (`{"messages": [...]}` or a bare array of `{role, content}`), the last
 * message the user's. Bad lines are refused with their line number.
 */
import { z } from 'zod';
import { ChatMessage } from '../../common/bundleRun.js';
import { WorkbenchError } from '../../common/errors.js';
import { readRegularFile, SMALL_FILE_LIMIT_BYTES } from '../files/regularFile.js';

export interface EvalPrompt {
  label: string;
  messages: ChatMessage[];
}

export const BUILT_IN_PROMPTS: readonly EvalPrompt[] = [
  { label: 'capital', messages: [{ role: 'user', content: 'What is the capital of France?' }] },
  { label: 'greeting', messages: [{ role: 'user', content: 'Say hello in Spanish.' }] },
  { label: 'counting', messages: [{ role: 'user', content: 'Count from one to five.' }] },
  { label: 'colour', messages: [{ role: 'user', content: 'What colour is the sky on a clear day?' }] },
];

const Line = z.union([z.object({ messages: z.array(ChatMessage).min(1), label: z.string().optional() }), z.array(ChatMessage).min(1)]);

export async function readPromptsFile(file: string): Promise<EvalPrompt[]> {
  let text: string;
  try {
    text = await readRegularFile(file, 'utf8', { maxBytes: SMALL_FILE_LIMIT_BYTES, what: 'a prompts file' });
  } catch (error) {
    if (error instanceof WorkbenchError) throw error;
    throw new WorkbenchError('file_not_found', `The prompts file ${file} cannot be read.`, { path: file });
  }
  const prompts: EvalPrompt[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (!line) continue;
    let parsed: z.infer<typeof Line>;
    try {
      parsed = Line.parse(JSON.parse(line));
    } catch {
      throw new WorkbenchError('bad_prompts', `Line ${i + 1} of ${file} is not a conversation: write {"messages": [{"role": "user", "content": "…"}]} (or the bare array) on each line.`, { path: file, line: i + 1 });
    }
    const messages = Array.isArray(parsed) ? parsed : parsed.messages;
    if (messages[messages.length - 1]!.role !== 'user') {
      throw new WorkbenchError('bad_prompts', `Line ${i + 1} of ${file} does not end with a user message, so there is nothing for the model to answer.`, { path: file, line: i + 1 });
    }
    prompts.push({ label: (!Array.isArray(parsed) && parsed.label) || `line ${i + 1}`, messages });
  }
  if (prompts.length === 0) throw new WorkbenchError('bad_prompts', `${file} holds no conversations.`, { path: file });
  return prompts;
}
