import { useRef, type KeyboardEvent, type ReactNode } from 'react';

export interface Tab {
  id: string;
  label: string;
  render: () => ReactNode;
}

interface TabsProps {
  /** What the tabs are, for screen readers ("Documentation of …"). */
  label: string;
  tabs: readonly Tab[];
  selected: string;
  onSelect: (id: string) => void;
}

/**
 * Tabs as the WAI-ARIA Authoring Practices describe them (https://www.w3.org/WAI/ARIA/apg/patterns/tabs/):
 * one tab stop for the whole list (roving tabindex), arrow keys move between tabs and show them
 * (automatic activation), Home and End go to the first and last, Tab moves into the panel.
 */
export function Tabs({ label, tabs, selected, onSelect }: TabsProps) {
  const buttons = useRef(new Map<string, HTMLButtonElement>());
  const current = tabs.find((tab) => tab.id === selected) ?? tabs[0];
  const handleKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const index = tabs.findIndex((tab) => tab.id === current?.id);
    const next =
      event.key === 'ArrowRight'
        ? (index + 1) % tabs.length
        : event.key === 'ArrowLeft'
          ? (index - 1 + tabs.length) % tabs.length
          : event.key === 'Home'
            ? 0
            : event.key === 'End'
              ? tabs.length - 1
              : null;
    const tab = next === null ? undefined : tabs[next];
    if (tab === undefined) {
      return;
    }
    event.preventDefault();
    onSelect(tab.id);
    buttons.current.get(tab.id)?.focus();
  };
  if (current === undefined) {
    return null;
  }
  return (
    <div className="tabbed">
      <div role="tablist" aria-label={label} className="tablist" onKeyDown={handleKeyDown}>
        {tabs.map((tab) => (
          <button
            key={tab.id}
            ref={(element) => {
              if (element === null) {
                buttons.current.delete(tab.id);
              } else {
                buttons.current.set(tab.id, element);
              }
            }}
            type="button"
            role="tab"
            id={`tab-${tab.id}`}
            aria-selected={tab.id === current.id}
            aria-controls={`panel-${tab.id}`}
            tabIndex={tab.id === current.id ? 0 : -1}
            onClick={() => onSelect(tab.id)}
          >
            {tab.label}
          </button>
        ))}
      </div>
      <div
        role="tabpanel"
        id={`panel-${current.id}`}
        aria-labelledby={`tab-${current.id}`}
        tabIndex={0}
        className="tabpanel"
      >
        {current.render()}
      </div>
    </div>
  );
}
