/**
 * Which of a few views of a list is shown, as a row of toggle buttons (the shown one pressed):
 * the reviewers' queues use it for waiting and decided requests.
 */
export function ViewButtons<TView extends { label: string }>({
  label,
  views,
  shown,
  onShow,
}: {
  /** What the buttons choose, for screen readers ("Which requests"). */
  label: string;
  views: readonly TView[];
  shown: TView;
  onShow: (view: TView) => void;
}) {
  return (
    <div className="tabs" role="group" aria-label={label}>
      {views.map((view) => (
        <button
          key={view.label}
          type="button"
          aria-pressed={view === shown}
          onClick={() => onShow(view)}
        >
          {view.label}
        </button>
      ))}
    </div>
  );
}
