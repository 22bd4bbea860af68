import { ApiError, type SessionDescription } from '@lantern/sdk';
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { api } from '../api.js';
import { formText, useSession } from '../session.js';
import { QrCode } from './QrCode.js';

const problemOf = (error: unknown) =>
  error instanceof ApiError ? error.problem.detail : 'the server cannot be reached';

/** What the section is doing: resting, setting up, or showing fresh recovery codes once. */
type Stage =
  | { kind: 'idle' }
  | { kind: 'enrolling'; secret: string; uri: string }
  | { kind: 'codes'; codes: string[] };

/** A base32 secret in groups of four, easier to type into an app (apps ignore the spaces). */
function grouped(secret: string): string {
  return secret.replace(/(.{4})(?=.)/gu, '$1 ');
}

/** A field for a 6-digit code from the app (numeric keyboard, one-time-code autofill). */
function CodeField({ label = 'Code from your authenticator app' }: { label?: string }) {
  return (
    <label>
      {label}
      <input
        name="code"
        inputMode="numeric"
        autoComplete="one-time-code"
        pattern="[0-9 ]*"
        maxLength={20}
        required
      />
    </label>
  );
}

/** The recovery codes, shown this once, with copy and download. */
function RecoveryCodes({ codes, onDone }: { codes: string[]; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  const [href, setHref] = useState<string | null>(null);
  const text = `Lantern recovery codes (each works once, in place of a code from your app)\n\n${codes.join('\n')}\n`;
  useEffect(() => {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
    setHref(url);
    return () => {
      URL.revokeObjectURL(url);
    };
  }, [text]);
  const handleCopy = () => {
    navigator.clipboard.writeText(text).then(
      () => setCopied(true),
      () => setCopied(false),
    );
  };
  return (
    <div className="token-once" role="status" data-testid="recovery-codes">
      <p>
        <strong>Store these recovery codes now</strong>, somewhere other than your phone (a password
        manager, or on paper). Each works once in place of a code if you lose the app. They will not
        be shown again.
      </p>
      <ol className="codes">
        {codes.map((code) => (
          <li key={code}>
            <code>{code}</code>
          </li>
        ))}
      </ol>
      <p>
        <button type="button" onClick={handleCopy}>
          {copied ? 'Copied' : 'Copy'}
        </button>{' '}
        {href !== null && (
          <a href={href} download="lantern-recovery-codes.txt" className="button">
            Download as .txt
          </a>
        )}{' '}
        <button type="button" onClick={onDone}>
          I have stored them
        </button>
      </p>
    </div>
  );
}

/**
 * "Two-factor sign-in" on the account page: status; set up with a QR code (and the secret as
 * text) confirmed by a code; recovery codes shown once; new recovery codes; turning it off, which
 * people whose roles need it cannot do.
 */
export function TwoFactorSection({ user }: { user: SessionDescription }) {
  const { refresh } = useSession();
  const [stage, setStage] = useState<Stage>({ kind: 'idle' });
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const heading = useRef<HTMLHeadingElement>(null);
  const { enabled, required, recoveryCodesLeft, thisSession } = user.secondFactor;

  const run = (action: () => Promise<void>, form?: HTMLFormElement) => {
    setBusy(true);
    setError(null);
    action()
      .then(() => form?.reset())
      .catch((caught: unknown) => {
        setError(problemOf(caught));
      })
      .finally(() => {
        setBusy(false);
      });
  };

  const handleBegin = () => {
    run(async () => {
      const { secret, uri } = await api.beginSecondFactorEnrolment();
      setStage({ kind: 'enrolling', secret, uri });
    });
  };
  const handleConfirm = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const code = formText(new FormData(event.currentTarget), 'code');
    run(async () => {
      const codes = await api.confirmSecondFactorEnrolment(code);
      setStage({ kind: 'codes', codes });
      await refresh();
    }, event.currentTarget);
  };
  const handleRegenerate = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const code = formText(new FormData(event.currentTarget), 'code');
    run(async () => {
      const codes = await api.regenerateRecoveryCodes(code);
      setStage({ kind: 'codes', codes });
      await refresh();
    }, event.currentTarget);
  };
  const handleDisable = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const code = formText(new FormData(event.currentTarget), 'code');
    if (
      !window.confirm(
        'Turn two-factor sign-in off? Your password alone will sign you in, and your recovery codes stop working.',
      )
    ) {
      return;
    }
    run(async () => {
      await api.disableSecondFactor(code);
      await refresh();
    }, event.currentTarget);
  };
  const handleDone = () => {
    setStage({ kind: 'idle' });
    heading.current?.focus();
  };

  return (
    <section aria-labelledby="two-factor-title" id="two-factor">
      <h2 id="two-factor-title" ref={heading} tabIndex={-1}>
        Two-factor sign-in
      </h2>
      <p data-testid="two-factor-status">
        {enabled
          ? `On: signing in asks for a code from your authenticator app. ${recoveryCodesLeft} of 10 recovery codes left.`
          : 'Off: your password alone signs you in.'}{' '}
        {enabled && !thisSession && 'This browser signed in without it.'}
      </p>
      {required && !enabled && (
        <p className="warn">
          Your roles ({user.roles.filter((r) => r === 'reviewer' || r === 'admin').join(', ')}) need
          it: until you set it up, you act without them.
        </p>
      )}
      {error !== null && (
        <p role="alert" className="bad">
          {error}
        </p>
      )}

      {stage.kind === 'codes' && <RecoveryCodes codes={stage.codes} onDone={handleDone} />}

      {stage.kind === 'enrolling' && (
        <div className="enrol">
          <ol>
            <li>
              Open an authenticator app on your phone (FreeOTP, Aegis, Google Authenticator,
              1Password …) and scan this code:
              <div>
                <QrCode text={stage.uri} label="QR code to add Lantern to your authenticator app" />
              </div>
              or type this key into it:{' '}
              <code data-testid="totp-secret">{grouped(stage.secret)}</code>
            </li>
            <li>
              <form onSubmit={handleConfirm} className="narrow" aria-label="Confirm the app">
                <CodeField label="Then enter the 6-digit code it shows" />
                <button type="submit" disabled={busy}>
                  Turn on
                </button>{' '}
                <button type="button" onClick={() => setStage({ kind: 'idle' })}>
                  Cancel
                </button>
              </form>
            </li>
          </ol>
        </div>
      )}

      {stage.kind === 'idle' && !enabled && (
        <p>
          <button type="button" onClick={handleBegin} disabled={busy}>
            Set up two-factor sign-in
          </button>
        </p>
      )}

      {stage.kind === 'idle' && enabled && (
        <div className="two-factor-actions">
          <form onSubmit={handleRegenerate} className="narrow" aria-label="New recovery codes">
            <h3>New recovery codes</h3>
            <p className="muted">The old ones stop working.</p>
            <CodeField />
            <button type="submit" disabled={busy}>
              Make new recovery codes
            </button>
          </form>
          {required ? (
            <p className="muted">
              Your roles need two-factor sign-in, so it cannot be turned off while you hold them.
            </p>
          ) : (
            <form onSubmit={handleDisable} className="narrow" aria-label="Turn off">
              <h3>Turn it off</h3>
              <CodeField />
              <button type="submit" disabled={busy}>
                Turn two-factor sign-in off
              </button>
            </form>
          )}
        </div>
      )}
    </section>
  );
}
