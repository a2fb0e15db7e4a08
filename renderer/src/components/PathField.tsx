/**
 * A path input for files and folders on the machine that runs the engine
 * (the remote host in serve mode). Typing is always possible; pickers that
 * browse are added per transport.
 */
import { useId } from 'react';
import { Field } from './common';

export interface PathFieldProps {
  label: string;
  value: string;
  onChange: (value: string) => void;
  kind: 'file' | 'folder';
  help?: string;
  placeholder?: string;
  testId?: string;
}

export function PathField({ label, value, onChange, kind, help, placeholder, testId }: PathFieldProps) {
  const id = useId();
  return (
    <Field label={label} help={help} htmlFor={id}>
      <input
        id={id}
        className="path-input"
        type="text"
        spellCheck={false}
        value={value}
        placeholder={placeholder ?? (kind === 'folder' ? '/path/to/folder' : '/path/to/file')}
        onChange={(event) => onChange(event.target.value)}
        data-testid={testId}
      />
    </Field>
  );
}
