// Shared hooks: loading data from the API, running an action with its error message, and a job's
// live events.
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { errorMessage } from './api';
import type { Job } from './types';

/** Loads data when `deps` change; `reload()` loads it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]) {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState('');
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    setError('');
    load().then(
      (d) => live && setData(d),
      (err: unknown) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [...deps, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { data, error, reload, setData };
}

/** Runs one user action at a time and keeps the message of its failure. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const run = useCallback(async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError('');
    try {
      await action();
      return true;
    } catch (err) {
      setError(errorMessage(err));
      return false;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, setError, run };
}

const FINISHED = new Set(['completed', 'failed', 'canceled']);

/** The podcast's job as `/events` streams it (the session cookie authenticates the stream). */
export function useJobEvents(podcastId: string, initial: Job | null) {
  const [job, setJob] = useState<Job | null>(initial);
  const source = useRef<EventSource | null>(null);
  useEffect(() => {
    const events = new EventSource(`/v1/podcasts/${encodeURIComponent(podcastId)}/events`);
    source.current = events;
    events.addEventListener('job', (e) => {
      const next = JSON.parse((e as MessageEvent<string>).data) as Job;
      setJob(next);
      // The server ends the stream with the job; closing first keeps EventSource from reconnecting.
      if (FINISHED.has(next.status)) events.close();
    });
    return () => events.close();
  }, [podcastId]);
  return job;
}
