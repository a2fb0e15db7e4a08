/**
 * Renderer entry: picks the transport (Electron preload or serve-mode
 * WebSocket) and mounts the app.
 */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { createClient, detectTransport } from './api/client';
import { ApiProvider } from './api/hooks';
import './styles.css';

const client = createClient(detectTransport());
if (!window.location.hash || window.location.hash === '#') window.location.hash = '#/runs';

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <ApiProvider client={client}>
      <App />
    </ApiProvider>
  </StrictMode>,
);
