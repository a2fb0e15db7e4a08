/**
 * The engine's event fan-out: the runner publishes, every transport
 * (Electron IPC, each WebSocket client, the CLI's progress printer) listens.
 */
import type { WorkbenchEvent } from '../common/api/events.js';

export type EventListener = (event: WorkbenchEvent) => void;

export class EventBus {
  private readonly listeners = new Set<EventListener>();

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  publish(event: WorkbenchEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // One broken listener (a closed socket) must not stop the others.
      }
    }
  }
}
