/** What the last action said: done (a status) or refused (an alert). */
export type Message = { text: string; bad: boolean } | null;

/** The last action's message where it was taken, announced as a status or an alert. */
export function Said({ message, testId }: { message: Message; testId: string }) {
  if (message === null) {
    return null;
  }
  return (
    <p
      role={message.bad ? 'alert' : 'status'}
      className={message.bad ? 'bad' : 'good'}
      data-testid={testId}
    >
      {message.text}
    </p>
  );
}
