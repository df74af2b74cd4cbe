import { useEffect, useRef, useState } from 'preact/hooks';
import { post, seg } from '../api.js';
import type { OwnedTag } from '../api-types.js';
import './release-tag.css';

export interface ReleaseTagProps {
  tag: OwnedTag & { holder: string };
  /** Where the holder runs, as the page knows it (`h2, offline since 12:03`). */
  holderWhere: string;
  onDone: (message: string) => void;
  onCancel: () => void;
}

/**
 * Asks an admin to confirm releasing a resource tag, saying what it does: the run waiting next
 * gets the tag, while the holder, should its host come back, would run on without it.
 */
export function ReleaseTag({ tag, holderWhere, onDone, onCancel }: ReleaseTagProps) {
  const ref = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    const d = ref.current;
    if (d && !d.open) d.showModal();
  }, []);

  const release = async () => {
    setBusy(true);
    setError(undefined);
    try {
      // Naming the holder releases it for that run only, should another have taken it since.
      const res = await post(`/tags/${seg(tag.tag)}/release`, { run: tag.holder });
      ref.current?.close();
      onDone(res.message);
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };
  const next = tag.waiting[0];
  return (
    <dialog ref={ref} class="release-tag" aria-labelledby="release-title" aria-describedby="release-what" onClose={onCancel}>
      <h2 id="release-title">Release resource tag {tag.tag}?</h2>
      <p id="release-what">
        Run <span class="mono">{tag.holder}</span> holds it, on {holderWhere}.{' '}
        {next ? (
          <>
            Run <span class="mono">{next}</span>, first in line, gets it next.
          </>
        ) : (
          'No run waits for it.'
        )}{' '}
        Release it only if that host will not come back to finish the run.
      </p>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      <div class="release-tag-buttons">
        <button type="button" class="danger" disabled={busy} onClick={() => void release()}>
          {busy ? 'Releasing…' : `Release ${tag.tag}`}
        </button>
        <button type="button" onClick={() => ref.current?.close()}>
          Cancel
        </button>
      </div>
    </dialog>
  );
}
